package market

import (
	"sync"
	"time"
)

// BreakerState is where a circuit breaker stands.
type BreakerState string

// The three breaker states.
const (
	BreakerClosed   BreakerState = "closed"    // calls flow
	BreakerOpen     BreakerState = "open"      // calls fail at once until the cooldown ends
	BreakerHalfOpen BreakerState = "half_open" // one probe call decides
)

// Breaker is a per-provider circuit breaker: it opens after a number of
// consecutive failures, refuses calls for a cooldown, then lets one probe
// through; the probe's success closes it, its failure opens it again.
type Breaker struct {
	mu       sync.Mutex
	state    BreakerState
	fails    int
	openedAt time.Time
	probing  bool
	now      func() time.Time
	failures int
	cooldown time.Duration
}

// NewBreaker returns a closed breaker.
func NewBreaker(failures int, cooldown time.Duration, now func() time.Time) *Breaker {
	if now == nil {
		now = time.Now
	}
	return &Breaker{state: BreakerClosed, failures: failures, cooldown: cooldown, now: now}
}

// Allow reports whether a call may go out now. When it returns true the
// caller must report the outcome with Done.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return false
		}
		b.state = BreakerHalfOpen
		b.probing = true
		return true
	case BreakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return true
}

// Done records a call's outcome.
func (b *Breaker) Done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.state, b.fails, b.probing = BreakerClosed, 0, false
		return
	}
	b.fails++
	if b.state == BreakerHalfOpen || b.fails >= max(b.failures, 1) {
		b.state, b.openedAt, b.probing = BreakerOpen, b.now(), false
	}
}

// Settings changes the thresholds (parameters reload).
func (b *Breaker) Settings(failures int, cooldown time.Duration) {
	b.mu.Lock()
	b.failures, b.cooldown = failures, cooldown
	b.mu.Unlock()
}

// State returns the current state; an open breaker whose cooldown has
// passed reports half-open, as the next call would probe.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && b.now().Sub(b.openedAt) >= b.cooldown {
		return BreakerHalfOpen
	}
	return b.state
}

// Release gives back a probe slot that Allow handed out when the call
// never reached the provider (the caller's own deadline ran out first):
// the breaker's state is left as it was.
func (b *Breaker) Release() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}
