package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/mcp"
	"github.com/gpubroker/pod/tenant"
)

// tokenCmd mints an API token from the operator's terminal: whoever can run
// the binary against the database is the platform's operator.
func tokenCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("token: want create --role ROLE [--tenant ID] [--name NAME] [--ttl DURATION]")
	}
	var role, tenantID, name string
	var ttl time.Duration
	cfg, _, err := bootstrap("token create", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "user, pro_user, enterprise_user or pod_admin")
		fs.StringVar(&tenantID, "tenant", tenant.DefaultID, "tenant the token acts in")
		fs.StringVar(&name, "name", "cli", "what the token is for")
		fs.DurationVar(&ttl, "ttl", 0, "lifetime such as 720h; 0 for no expiry")
	})
	if err != nil {
		return err
	}
	r, err := actor.ParseRole(role)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, newLogger("warn"))
	if err != nil {
		return err
	}
	defer a.Close()
	tok, secret, err := a.Identity.CreateAPIToken(ctx, cliActor(), tenantID, r, name, nil, ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created API token %s (%s) for tenant %s, role %s\n", tok.ID, tok.Name, tok.TenantID, tok.Role)
	fmt.Println(secret)
	return nil
}

// mcpCmd serves MCP on standard input and output as the token's actor.
func mcpCmd(ctx context.Context, args []string) error {
	var token string
	cfg, _, err := bootstrap("mcp", args, func(fs *flag.FlagSet) {
		fs.StringVar(&token, "token", os.Getenv("GPUBROKER_TOKEN"), "API token (or GPUBROKER_TOKEN)")
	})
	if err != nil {
		return err
	}
	if token == "" {
		return errors.New("mcp: give --token or GPUBROKER_TOKEN")
	}
	a, err := app.New(ctx, cfg, newLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	who, err := a.Identity.Authenticate(ctx, token)
	if err != nil {
		return err
	}
	return mcp.ServeStdio(ctx, a.MCP, who, os.Stdin, os.Stdout)
}
