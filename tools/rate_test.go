package tools_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// clock is a test clock the registry reads through Deps.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// counterFunc is a RateCounter made of a function, recording its calls.
type counterFunc struct {
	mu    sync.Mutex
	calls int
	hit   func(key string) (int, error)
}

func (f *counterFunc) Hit(_ context.Context, key string, _ time.Time) (int, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return f.hit(key)
}

func (f *counterFunc) Calls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// rateRegistry builds a registry over p's tenants and parameters with a
// no-op tool, the clock and the rate counter given, and a limit of three
// calls a minute in tenant acme.
func rateRegistry(t *testing.T, p *platformtest.Platform, clk *clock, rate tools.RateCounter, log *slog.Logger) *tools.Registry {
	t.Helper()
	setLimit(t, p, "ratelimit.tool_calls_per_minute", "3")
	r := tools.NewRegistry(tools.Deps{Tenants: p.Tenants, Limits: tools.ParamLimits{Params: p.Params}, Budget: p.Store,
		Audit: discard{}, Now: clk.Now, Rate: rate, Log: log})
	tools.MustRegister(r, tools.Def[Empty, Empty]{
		Name: "noop", Description: "Do nothing.", Group: "test", MinRole: actor.RoleUser, ReadOnly: true, Method: http.MethodGet,
		Handle: func(context.Context, *tools.Call, *Empty) (Empty, error) { return Empty{}, nil },
	})
	return r
}

func noop(r *tools.Registry) tools.Result {
	return r.Call(context.Background(), tools.Request{Actor: platformtest.AcmeUser, Face: "direct", Tool: "noop"})
}

// calls makes n calls and returns the rule of each refusal ("" for a call
// that ran).
func calls(r *tools.Registry, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(noop(r).Verdict.Rule)
	}
	return out
}

func TestInProcessRateWindows(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	clk := &clock{now: time.Date(2025, 3, 1, 12, 0, 58, 0, time.UTC)}
	r := rateRegistry(t, p, clk, nil, nil)
	if got := strings.Join(calls(r, 4), ","); got != ",,,rate" {
		t.Fatalf("four calls in one minute = %q; want the fourth refused by the rate rule", got)
	}
	clk.Advance(2 * time.Second) // 12:01:00, a new window
	if got := strings.Join(calls(r, 4), ","); got != ",,,rate" {
		t.Fatalf("four calls in the next minute = %q; want the count to start again", got)
	}
	other := platformtest.AcmeUser
	other.ID = "someone-else"
	if res := r.Call(context.Background(), tools.Request{Actor: other, Face: "direct", Tool: "noop"}); res.Err != nil {
		t.Fatalf("another actor's call = %+v; want each actor counted apart", res.Verdict)
	}
}

func TestSharedRateCounter(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	t.Run("its count decides", func(t *testing.T) {
		clk := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
		shared := &counterFunc{hit: func(string) (int, error) { return 4, nil }}
		r := rateRegistry(t, p, clk, shared, nil)
		if res := noop(r); res.Verdict.Rule != "rate" || shared.Calls() != 1 {
			t.Fatalf("a fourth call by the shared count = %+v after %d hits; want the rate rule", res.Verdict, shared.Calls())
		}
	})
	t.Run("a failure counts in process, is logged and counted, and is retried later", func(t *testing.T) {
		clk := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
		shared := &counterFunc{hit: func(string) (int, error) { return 0, errors.New("connection refused") }}
		var logs bytes.Buffer
		r := rateRegistry(t, p, clk, shared, slog.New(slog.NewTextHandler(&logs, nil)))
		if got := strings.Join(calls(r, 4), ","); got != ",,,rate" {
			t.Fatalf("calls while the shared counter fails = %q; want the limit held in process", got)
		}
		if shared.Calls() != 1 || r.RateCounterFailures() != 1 {
			t.Fatalf("the failing counter was asked %d times and %d failures counted; want 1 and 1 until the retry",
				shared.Calls(), r.RateCounterFailures())
		}
		if !strings.Contains(logs.String(), "connection refused") || strings.Count(logs.String(), "\n") != 1 {
			t.Fatalf("logs = %q; want one line with the error", logs.String())
		}
		clk.Advance(5 * time.Second)
		shared.hit = func(string) (int, error) { return 1, nil }
		if res := noop(r); res.Err != nil || shared.Calls() != 2 {
			t.Fatalf("after the retry delay the call = %+v, shared counter asked %d times; want it asked again and obeyed",
				res.Verdict, shared.Calls())
		}
	})
}
