package market

import (
	"context"
	"sync"
)

// Market hands out the aggregator that serves a tenant in a mode: one
// shared aggregator of simulated providers for every SANDBOX tenant, and
// for LIVE one per tenant, built from that tenant's own credentials.
type Market struct {
	sandbox *Aggregator
	live    LiveBuilder

	mu    sync.Mutex
	built map[string]liveEntry
}

type liveEntry struct {
	agg         *Aggregator
	credentials string
}

// LiveBuilder builds a tenant's LIVE aggregator. Credentials names what
// the aggregator of a tenant is built from (a fingerprint of the tenant's
// provider credentials), or "" when the tenant no longer runs in LIVE:
// Resync drops an aggregator only when that changes, so a parameter change
// elsewhere keeps each tenant's breakers, rate limits and cached offers,
// and a tenant back in SANDBOX stops calling real providers. Without
// Credentials every Resync drops every LIVE aggregator. A zero LiveBuilder
// means LIVE has no providers configured.
type LiveBuilder struct {
	Build       func(ctx context.Context, tenantID string) (*Aggregator, error)
	Credentials func(ctx context.Context, tenantID string) string
}

// New takes the SANDBOX aggregator and the builder of a tenant's
// LIVE aggregator.
func New(sandbox *Aggregator, live LiveBuilder) *Market {
	return &Market{sandbox: sandbox, live: live, built: map[string]liveEntry{}}
}

// For returns the aggregator of a tenant in a mode ("SANDBOX" or "LIVE").
func (m *Market) For(ctx context.Context, tenantID string, live bool) (*Aggregator, error) {
	if !live {
		return m.sandbox, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.built[tenantID]; ok {
		return e.agg, nil
	}
	if m.live.Build == nil {
		a := NewAggregator(nil, Options{Mode: "live"})
		m.built[tenantID] = liveEntry{agg: a}
		return a, nil
	}
	// The fingerprint is read first: credentials changing during the build
	// then cost one needless rebuild at worst, never a stale aggregator.
	fp := m.credentials(ctx, tenantID)
	a, err := m.live.Build(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	m.built[tenantID] = liveEntry{agg: a, credentials: fp}
	return a, nil
}

func (m *Market) credentials(ctx context.Context, tenantID string) string {
	if m.live.Credentials == nil {
		return ""
	}
	return m.live.Credentials(ctx, tenantID)
}

// Resync drops the LIVE aggregator of every tenant that left LIVE or whose
// credentials changed since it was built; the next LIVE call builds it
// anew. Call it after parameters and tenants reload.
func (m *Market) Resync(ctx context.Context) {
	m.drop(func(id string, e liveEntry) bool {
		now := m.credentials(ctx, id)
		return now == "" || now != e.credentials
	})
}

// Forget drops a tenant's LIVE aggregator so the next call rebuilds it;
// tenantID "" forgets every tenant.
func (m *Market) Forget(tenantID string) {
	m.drop(func(id string, _ liveEntry) bool { return tenantID == "" || id == tenantID })
}

// drop closes and forgets the LIVE aggregators that match.
func (m *Market) drop(match func(tenantID string, e liveEntry) bool) {
	m.mu.Lock()
	var closing []*Aggregator
	for id, e := range m.built {
		if match(id, e) {
			closing = append(closing, e.agg)
			delete(m.built, id)
		}
	}
	m.mu.Unlock()
	for _, a := range closing {
		a.Close()
	}
}

// Each calls fn with every aggregator in use (for settings changes).
func (m *Market) Each(fn func(*Aggregator)) {
	fn(m.sandbox)
	m.mu.Lock()
	as := make([]*Aggregator, 0, len(m.built))
	for _, e := range m.built {
		as = append(as, e.agg)
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
