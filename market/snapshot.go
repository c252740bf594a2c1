package market

import (
	"sort"
	"sync"
	"time"

	"github.com/gpubroker/pod/providers"
)

// Snapshot is an immutable view of every offer at one moment, sorted by
// id. Readers share it without locks; a refresh builds a new one.
type Snapshot struct {
	Offers []providers.Offer
	Taken  time.Time
	index  map[string]int
	// reliability is each provider's success share when the snapshot was
	// taken, so TOPSIS ranks of one snapshot never change.
	reliability map[string]float64

	memoMu sync.Mutex
	memo   map[string]Page
	// derived holds what Derived computed from the snapshot, by key.
	derived sync.Map
}

// Derived returns what derive makes of the snapshot, computed once per key
// for the snapshot's life: a snapshot never changes, so neither does a
// summary of it. Readers after the first take it without a lock. derive
// may run more than once when callers race on a new snapshot; one answer
// is kept. What it returns is shared by every caller, who must not change
// it. key is a comparable value of a type the caller owns, so callers
// in different packages cannot collide.
func (s *Snapshot) Derived(key any, derive func(*Snapshot) any) any {
	if v, ok := s.derived.Load(key); ok {
		return v
	}
	v, _ := s.derived.LoadOrStore(key, derive(s))
	return v
}

// Reliability is the provider's share of successful calls when the
// snapshot was taken (1 when unknown).
func (s *Snapshot) Reliability(provider string) float64 {
	if r, ok := s.reliability[provider]; ok {
		return r
	}
	return 1
}

// NewSnapshot sorts offers by id and indexes them; a repeated id keeps
// the first.
func NewSnapshot(offers []providers.Offer, taken time.Time) *Snapshot {
	sort.SliceStable(offers, func(i, j int) bool { return offers[i].ID < offers[j].ID })
	s := &Snapshot{Taken: taken, index: make(map[string]int, len(offers))}
	s.Offers = offers[:0:0]
	for _, o := range offers {
		if _, dup := s.index[o.ID]; dup {
			continue
		}
		s.index[o.ID] = len(s.Offers)
		s.Offers = append(s.Offers, o)
	}
	return s
}

// Offer returns the offer with that id.
func (s *Snapshot) Offer(id string) (providers.Offer, bool) {
	if s == nil {
		return providers.Offer{}, false
	}
	i, ok := s.index[id]
	if !ok {
		return providers.Offer{}, false
	}
	return s.Offers[i], true
}
