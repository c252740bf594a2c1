package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/ratelimit"
	"github.com/gpubroker/pod/redistest"
	"github.com/gpubroker/pod/tools"
)

// minute is the start of a window, so offsets into it are easy to read.
var minute = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRedisCountsASlidingMinute(t *testing.T) {
	client, prefix := redistest.New(t)
	rc := ratelimit.New(client, prefix)
	ctx := context.Background()
	hit := func(key string, at time.Duration) int {
		t.Helper()
		n, err := rc.Hit(ctx, key, minute.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, s := range []struct {
		name string
		key  string
		at   time.Duration
		want int
	}{
		{"the first call counts one", "a", 0, 1},
		{"calls in the same minute add up", "a", 10 * time.Second, 2},
		{"another key counts apart", "b", 20 * time.Second, 1},
		{"a third call", "a", 30 * time.Second, 3},
		{"a fourth call", "a", 30 * time.Second, 4},
		{"a fifth call", "a", 30 * time.Second, 5},
		{"the last second of the minute still counts in it", "a", 59 * time.Second, 6},
		{"a quarter into the next minute, three quarters of the last one weigh (4.5, rounded down)", "a", 75 * time.Second, 1 + 4},
		{"half way, half of it weighs", "a", 90 * time.Second, 2 + 3},
		{"at the start of the third minute, the first no longer counts", "a", 120 * time.Second, 1 + 2},
	} {
		t.Run(s.name, func(t *testing.T) {
			if got := hit(s.key, s.at); got != s.want {
				t.Fatalf("count of %s at %s = %d; want %d", s.key, s.at, got, s.want)
			}
		})
	}
	t.Run("every key lives under the prefix and expires", func(t *testing.T) {
		keys, err := client.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 4 { // a: three minutes, b: one
			t.Fatalf("keys = %q; want four window counters", keys)
		}
		for _, k := range keys {
			ttl, err := client.PTTL(ctx, k).Result()
			if err != nil || ttl <= 0 || ttl > 2*ratelimit.Window+time.Second {
				t.Fatalf("key %q expires in %s (%v); want at most two windows", k, ttl, err)
			}
		}
	})
}

func TestRedisErrorsAreReturned(t *testing.T) {
	client, prefix := redistest.New(t)
	rc := ratelimit.New(client, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rc.Hit(ctx, "a", minute); err == nil {
		t.Fatal("a call on a cancelled context succeeded")
	}
}

type discard struct{}

func (discard) Record(audit.Record) {}

// Empty is the input and output of the test tool.
type Empty struct{}

// TestTwoRegistriesShareOneLimit builds two registries, as two instances
// of the platform would, each with its own Redis client on one server: the
// limit of three calls a minute holds across both.
func TestTwoRegistriesShareOneLimit(t *testing.T) {
	_, prefix := redistest.New(t)
	p := platformtest.New(t, "sqlite")
	if _, err := p.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{Scope: params.Scope{TenantID: "acme"},
		Key: "ratelimit.tool_calls_per_minute", Value: "3", Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return minute.Add(30 * time.Second) }
	instance := func(rate tools.RateCounter) *tools.Registry {
		r := tools.NewRegistry(tools.Deps{Tenants: p.Tenants, Limits: tools.ParamLimits{Params: p.Params}, Budget: p.Store,
			Audit: discard{}, Now: now, Rate: rate})
		tools.MustRegister(r, tools.Def[Empty, Empty]{
			Name: "noop", Description: "Do nothing.", Group: "test", MinRole: actor.RoleUser, ReadOnly: true, Method: http.MethodGet,
			Handle: func(context.Context, *tools.Call, *Empty) (Empty, error) { return Empty{}, nil },
		})
		return r
	}
	// rules calls the instances in turn and returns the rule of each
	// refusal ("" for a call that ran).
	rules := func(a actor.Actor, instances ...*tools.Registry) string {
		out := make([]string, 8)
		for i := range out {
			res := instances[i%len(instances)].Call(context.Background(), tools.Request{Actor: a, Face: "direct", Tool: "noop"})
			out[i] = string(res.Verdict.Rule)
		}
		return strings.Join(out, ",")
	}
	t.Run("with Redis the fourth call across both instances is refused", func(t *testing.T) {
		c1, _ := redistest.New(t)
		c2, _ := redistest.New(t)
		a, b := instance(ratelimit.New(c1, prefix)), instance(ratelimit.New(c2, prefix))
		if got := rules(platformtest.AcmeUser, a, b); got != ",,,rate,rate,rate,rate,rate" {
			t.Fatalf("calls alternating over two instances = %q; want three to run and the rest refused by the rate rule", got)
		}
		if a.RateCounterFailures()+b.RateCounterFailures() != 0 {
			t.Fatal("the shared counter failed")
		}
	})
	t.Run("in process each instance holds its own limit", func(t *testing.T) {
		a, b := instance(nil), instance(nil)
		if got := rules(platformtest.AcmeUser, a, b); got != ",,,,,,rate,rate" {
			t.Fatalf("calls alternating over two in-process instances = %q; want six to run", got)
		}
	})
}

// BenchmarkRedisRateHit measures one counted call on the Redis path: the
// script's round trip to the server named by GPUBROKER_TEST_REDIS_URL
// (loopback in make bench) and the sliding count. "serial" is one caller's
// latency; "parallel" is the throughput of GOMAXPROCS callers sharing the
// client's pool.
func BenchmarkRedisRateHit(b *testing.B) {
	client, prefix := redistest.New(b)
	rc := ratelimit.New(client, prefix)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("user:u-%d\x00list_offers", i)
	}
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := rc.Hit(ctx, keys[i%len(keys)], minute.Add(time.Duration(i)*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, err := rc.Hit(ctx, keys[i%len(keys)], minute.Add(30*time.Second)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
