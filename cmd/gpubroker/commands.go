package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/logs"
)

// bootstrap parses the bootstrap flags of a subcommand over the environment.
func bootstrap(name string, args []string, extra func(*flag.FlagSet)) (app.Config, *flag.FlagSet, error) {
	cfg := app.ConfigFromEnv(os.Getenv)
	cfg.Version = version
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.Flags(fs)
	if extra != nil {
		extra(fs)
	}
	return cfg, fs, fs.Parse(args)
}

// levelOf parses a log level, info when it cannot.
func levelOf(level string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return l
}

// newLogger logs JSON lines to standard error, unbuffered: for the short
// commands, whose few lines must not wait.
func newLogger(level string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: levelOf(level)}))
}

func serve(ctx context.Context, args []string) error {
	cfg, _, err := bootstrap("serve", args, nil)
	if err != nil {
		return err
	}
	// The server logs a line per request: through a buffer flushed every
	// 100 ms (and at once after a warning or an error), and on exit.
	out := logs.NewWriter(os.Stderr, 100*time.Millisecond)
	defer out.Close()
	log := logs.NewLogger(out, levelOf(cfg.LogLevel))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	seeded, err := a.Seed(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Printf("GPUBROKER POD %s is running at %s (database: %s)\n", version, url, a.Store.Dialect())
	if seeded.AdminPassword != "" {
		fmt.Printf("Admin login: %s / %s  (also in %s)\n", seeded.AdminEmail, seeded.AdminPassword, seeded.PasswordFile)
	} else {
		fmt.Printf("Admin login: %s (initial password in %s)\n", seeded.AdminEmail, seeded.PasswordFile)
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", version)
	if err := a.Serve(ctx, ln, 10*time.Second); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func migrate(ctx context.Context, args []string) error {
	cfg, _, err := bootstrap("migrate", args, nil)
	if err != nil {
		return err
	}
	a, err := app.ConnectStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	applied, err := a.MigrateReport(ctx)
	for _, name := range applied {
		fmt.Println("applied", name)
	}
	if err != nil {
		return err
	}
	v, err := a.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("schema at version %d (%s)\n", v, a.Dialect())
	return nil
}

func paramsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("params: want export or import")
	}
	sub, args := args[0], args[1:]
	var tenantID, out, confirm string
	cfg, fs, err := bootstrap("params "+sub, args, func(fs *flag.FlagSet) {
		switch sub {
		case "export":
			fs.StringVar(&tenantID, "tenant", "", "export the global values and this tenant's only")
			fs.StringVar(&out, "o", "-", "output file, - for standard output")
		case "import":
			fs.StringVar(&confirm, "confirm", "", "confirmation phrase when the file changes LIVE values")
		}
	})
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, newLogger("warn"))
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "export":
		f, err := a.Params.Export(ctx, tenantID)
		if err != nil {
			return err
		}
		b, err := f.Encode()
		if err != nil {
			return err
		}
		if out == "-" {
			_, err = os.Stdout.Write(b)
			return err
		}
		return os.WriteFile(out, b, 0o600)
	case "import":
		if fs.NArg() != 1 {
			return errors.New("params import: name one file, or - for standard input")
		}
		var data []byte
		if fs.Arg(0) == "-" {
			data, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<20))
		} else {
			data, err = os.ReadFile(fs.Arg(0))
		}
		if err != nil {
			return err
		}
		res, err := a.Params.Import(ctx, cliActor(), data, confirm)
		if e, ok := fault.As(err); ok && e.Kind == fault.KindNeedsConfirmation {
			return fmt.Errorf("%s\nrun again with -confirm %q", e.Message, e.Confirm)
		}
		if err != nil {
			return err
		}
		fmt.Printf("imported %d values\n", res.Applied)
		return nil
	}
	return fmt.Errorf("params: unknown subcommand %q, want export or import", sub)
}

// billingCmd runs the billing subcommands: sync-plans makes, at each
// Stripe account the tenants use (or at the backend of the one tenant
// named), the plans' products and the prices the parameters declare.
func billingCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "sync-plans" {
		return errors.New("billing: want sync-plans")
	}
	var tenantID string
	cfg, _, err := bootstrap("billing sync-plans", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&tenantID, "tenant", "", "sync the backend serving this tenant only (the mock one too)")
	})
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, newLogger("warn"))
	if err != nil {
		return err
	}
	defer a.Close()
	var done []billing.Synced
	if tenantID != "" {
		t, err := a.Tenants.Get(ctx, tenantID)
		if err != nil {
			return err
		}
		done, err = a.Billing.SyncPlans(ctx, t)
		if err != nil {
			return err
		}
	} else {
		ts, err := a.Tenants.List(ctx)
		if err != nil {
			return err
		}
		if done, err = a.Billing.SyncAccounts(ctx, ts); err != nil {
			return err
		}
		if len(done) == 0 {
			fmt.Println("no tenant is served by Stripe: nothing to sync (the mock processor makes its prices when first needed)")
		}
	}
	for _, s := range done {
		fmt.Println(s)
	}
	return nil
}

// cliActor is the operator at the terminal, recorded in history by login.
func cliActor() actor.Actor {
	name := "operator"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return actor.Actor{Kind: actor.KindSystem, ID: "cli:" + strings.ReplaceAll(name, " ", "_"), Role: actor.RolePodAdmin, Name: name}
}
