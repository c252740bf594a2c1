package tools

import (
	"sync"
	"time"
)

// rateCounter counts calls per key in fixed one-minute windows, in
// process. (Across instances the limit holds per instance.)
type rateCounter struct {
	mu      sync.Mutex
	window  int64
	counts  map[string]int
	prevLen int
}

func newRateCounter() *rateCounter { return &rateCounter{counts: map[string]int{}} }

// hit counts one call for key at now and returns the count in the window.
func (r *rateCounter) hit(key string, now time.Time) int {
	w := now.Unix() / 60
	r.mu.Lock()
	defer r.mu.Unlock()
	if w != r.window {
		r.window, r.prevLen = w, len(r.counts)
		r.counts = make(map[string]int, r.prevLen)
	}
	r.counts[key]++
	return r.counts[key]
}
