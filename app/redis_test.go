package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/redistest"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

func TestConfigReadsTheRedisSettings(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		url, prefix string
	}{
		{"unset means in process, with the default prefix", nil, "", "gpubroker:"},
		{"both set", map[string]string{"GPUBROKER_REDIS_URL": "redis://cache:6379/2", "GPUBROKER_REDIS_PREFIX": "pod-eu:"},
			"redis://cache:6379/2", "pod-eu:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if c.RedisURL != tc.url || c.RedisPrefix != tc.prefix {
				t.Fatalf("RedisURL %q, RedisPrefix %q; want %q, %q", c.RedisURL, c.RedisPrefix, tc.url, tc.prefix)
			}
		})
	}
}

func TestABadRedisURLStopsTheStart(t *testing.T) {
	_, err := New(context.Background(), Config{DataDir: t.TempDir(), RedisURL: "http://cache:6379"}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "GPUBROKER_REDIS_URL") {
		t.Fatalf("New with an http URL = %v; want an error naming GPUBROKER_REDIS_URL", err)
	}
}

// TestTwoInstancesShareRateLimitsThroughRedis starts two apps on one
// database and one Redis, as two instances behind a load balancer: the
// limit of two calls a minute holds across both.
func TestTwoInstancesShareRateLimitsThroughRedis(t *testing.T) {
	_, prefix := redistest.New(t)
	ctx := context.Background()
	cfg := Config{DataDir: t.TempDir(), RedisURL: redistest.URL(), RedisPrefix: prefix}
	start := func() *App {
		a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	a, b := start(), start()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Key: "ratelimit.tool_calls_per_minute", Value: "2",
		Confirm: "global"}); err != nil {
		t.Fatal(err)
	}
	for _, app := range []*App{a, b} {
		if err := app.Params.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if err := app.Tenants.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	user := actor.Actor{Kind: actor.KindUser, ID: "u1", TenantID: tenant.DefaultID, Role: actor.RoleUser}
	var rules []string
	for i, app := range []*App{a, b, a, b} {
		res := app.Tools.Call(ctx, tools.Request{Actor: user, Face: "direct", Tool: "get_tenant"})
		if res.Err != nil && res.Verdict.Rule != policies.RuleRate {
			t.Fatalf("call %d: %v", i+1, res.Err)
		}
		rules = append(rules, string(res.Verdict.Rule))
	}
	if got := strings.Join(rules, ","); got != ",,rate,rate" {
		t.Fatalf("calls alternating over two instances = %q; want two to run and the rest refused by the rate rule", got)
	}
}
