// Command gpubroker runs the GPUBROKER POD platform.
//
//	gpubroker [serve]                  run the platform (default)
//	gpubroker migrate                  apply database migrations and exit
//	gpubroker params export [-tenant ID] [-o FILE]
//	gpubroker params import [-confirm PHRASE] FILE|-
//	gpubroker token create --role ROLE [--tenant ID] [--name NAME]
//	gpubroker billing sync-plans [-tenant ID]
//	gpubroker mcp --token TOKEN        serve MCP on standard input/output
//	gpubroker version
//
// Bootstrap settings come from flags or GPUBROKER_* variables; every other
// setting is a parameter.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gpubroker:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "migrate":
		return migrate(ctx, args)
	case "params":
		return paramsCmd(ctx, args)
	case "token":
		return tokenCmd(ctx, args)
	case "billing":
		return billingCmd(ctx, args)
	case "mcp":
		return mcpCmd(ctx, args)
	case "version":
		fmt.Println("gpubroker", version)
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  gpubroker [serve] [flags]            run the platform
  gpubroker migrate [flags]            apply database migrations and exit
  gpubroker params export [-tenant ID] [-o FILE]
  gpubroker params import [-confirm PHRASE] FILE|-
  gpubroker token create --role ROLE [--tenant ID] [--name NAME] [--ttl DURATION]
  gpubroker billing sync-plans [-tenant ID]   make the plans' Stripe products and prices
  gpubroker mcp --token TOKEN          serve MCP on standard input/output
  gpubroker version
Run "gpubroker serve -h" for the bootstrap flags.
`
