package providers

import (
	"context"
	"sync"
)

// Market hands out the aggregator that serves a tenant in a mode: one
// shared aggregator of simulated providers for every SANDBOX tenant, and
// for LIVE one per tenant, built from that tenant's own credentials.
type Market struct {
	sandbox *Aggregator
	build   func(ctx context.Context, tenantID string) (*Aggregator, error)

	mu   sync.Mutex
	live map[string]*Aggregator
}

// NewMarket takes the SANDBOX aggregator and the builder of a tenant's
// LIVE aggregator (nil: LIVE has no providers configured).
func NewMarket(sandbox *Aggregator, buildLive func(ctx context.Context, tenantID string) (*Aggregator, error)) *Market {
	return &Market{sandbox: sandbox, build: buildLive, live: map[string]*Aggregator{}}
}

// For returns the aggregator of a tenant in a mode ("SANDBOX" or "LIVE").
func (m *Market) For(ctx context.Context, tenantID string, live bool) (*Aggregator, error) {
	if !live {
		return m.sandbox, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.live[tenantID]; ok {
		return a, nil
	}
	if m.build == nil {
		a := NewAggregator(nil, Options{Mode: "live"})
		m.live[tenantID] = a
		return a, nil
	}
	a, err := m.build(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	m.live[tenantID] = a
	return a, nil
}

// Forget drops a tenant's LIVE aggregator so the next call rebuilds it
// (after its credentials change); tenantID "" forgets every tenant.
func (m *Market) Forget(tenantID string) {
	m.mu.Lock()
	var drop []*Aggregator
	for id, a := range m.live {
		if tenantID == "" || id == tenantID {
			drop = append(drop, a)
			delete(m.live, id)
		}
	}
	m.mu.Unlock()
	for _, a := range drop {
		a.Close()
	}
}

// Each calls fn with every aggregator in use (for settings changes).
func (m *Market) Each(fn func(*Aggregator)) {
	fn(m.sandbox)
	m.mu.Lock()
	as := make([]*Aggregator, 0, len(m.live))
	for _, a := range m.live {
		as = append(as, a)
	}
	m.mu.Unlock()
	for _, a := range as {
		fn(a)
	}
}

// Close stops every aggregator.
func (m *Market) Close() {
	m.Forget("")
	m.sandbox.Close()
}
