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
