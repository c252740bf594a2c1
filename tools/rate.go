package tools

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// RateCounter counts calls per key (one actor and one tool) for the rate
// policy, which compares the count with ratelimit.tool_calls_per_minute.
// Hit records one call at now and returns how many calls the key has made
// in the minute's window, this one included. A counter shared by every
// instance (package ratelimit, on Redis) makes the limit hold across them.
type RateCounter interface {
	Hit(ctx context.Context, key string, now time.Time) (int, error)
}

// rateRetryAfter is how long the registry counts in process after the
// shared counter failed before it asks the shared counter again.
const rateRetryAfter = 5 * time.Second

// rateGuard counts calls in the shared counter when there is one, and in
// process otherwise or while the shared counter fails.
//
// A failing shared counter fails over, not open: the call is counted in
// process, so the limit still holds on each instance (as it does without
// Redis) rather than vanishing. The alternative, refusing calls, would let
// an outage of a counter take down every tool, including those an admin
// needs to act on the outage. The failure is logged and counted
// (Registry.RateCounterFailures), and the shared counter is asked again
// after rateRetryAfter, so a recovered Redis holds the limit again without
// a restart while a dead one costs each call no timeout.
type rateGuard struct {
	shared   RateCounter // nil: in process only
	local    *rateCounter
	log      *slog.Logger
	failures atomic.Uint64
	retryAt  atomic.Int64 // Unix nanoseconds before which shared is not asked
}

func newRateGuard(shared RateCounter, log *slog.Logger) *rateGuard {
	return &rateGuard{shared: shared, local: newRateCounter(), log: log}
}

// hit counts one call for key at now and returns the count in its window.
func (g *rateGuard) hit(ctx context.Context, key string, now time.Time) int {
	if g.shared != nil && now.UnixNano() >= g.retryAt.Load() {
		n, err := g.shared.Hit(ctx, key, now)
		if err == nil {
			return n
		}
		g.retryAt.Store(now.Add(rateRetryAfter).UnixNano())
		total := g.failures.Add(1)
		g.log.Error("shared rate counter failed: counting calls in this instance only", "err", err,
			"failures", total, "retry_in", rateRetryAfter)
	}
	n, _ := g.local.Hit(ctx, key, now)
	return n
}

// RateCounterFailures is how many times the shared rate counter failed
// since the registry was built; each failure made this instance count
// calls in process for a while.
func (r *Registry) RateCounterFailures() uint64 { return r.limits.failures.Load() }

// rateCounter counts calls per key in fixed one-minute windows, in
// process: the limit holds per instance.
type rateCounter struct {
	mu      sync.Mutex
	window  int64
	counts  map[string]int
	prevLen int
}

func newRateCounter() *rateCounter { return &rateCounter{counts: map[string]int{}} }

// Hit implements RateCounter; it never fails.
func (r *rateCounter) Hit(_ context.Context, key string, now time.Time) (int, error) {
	w := now.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	if w != r.window {
		r.window, r.prevLen = w, len(r.counts)
		r.counts = make(map[string]int, r.prevLen)
	}
	r.counts[key]++
	return r.counts[key], nil
}
