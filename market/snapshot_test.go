package market_test

import (
	"testing"
	"time"

	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/providers"
)

// TestASnapshotDerivesEachSummaryOnce: what is derived from a snapshot is
// computed on the first ask and shared after; another key, or another
// snapshot, derives its own.
func TestASnapshotDerivesEachSummaryOnce(t *testing.T) {
	type countKey struct{}
	type otherKey struct{}
	runs := 0
	count := func(s *market.Snapshot) any { runs++; return len(s.Offers) }
	a := market.NewSnapshot([]providers.Offer{{ID: "a"}, {ID: "b"}}, time.Now())
	for range 3 {
		if got := a.Derived(countKey{}, count); got != 2 {
			t.Fatalf("derived %v, want 2", got)
		}
	}
	if runs != 1 {
		t.Fatalf("derived %d times, want once", runs)
	}
	a.Derived(otherKey{}, count)
	b := market.NewSnapshot([]providers.Offer{{ID: "c"}}, time.Now())
	if got := b.Derived(countKey{}, count); got != 1 {
		t.Fatalf("the other snapshot derived %v, want 1", got)
	}
	if runs != 3 {
		t.Fatalf("derived %d times, want 3: once per key and snapshot", runs)
	}
}
