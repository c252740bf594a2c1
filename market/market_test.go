package market

import (
	"context"
	"sync"
	"testing"
)

func TestMarketRebuildsOnlyTheTenantsWhoseCredentialsChanged(t *testing.T) {
	var mu sync.Mutex
	creds := map[string]string{"acme": "key-1", "globex": "key-9"}
	builds := map[string]int{}
	m := New(NewAggregator(nil, Options{Mode: "sandbox"}), LiveBuilder{
		Build: func(_ context.Context, tenantID string) (*Aggregator, error) {
			mu.Lock()
			builds[tenantID]++
			mu.Unlock()
			return NewAggregator(nil, Options{Mode: "live"}), nil
		},
		Credentials: func(_ context.Context, tenantID string) string { mu.Lock(); defer mu.Unlock(); return creds[tenantID] },
	})
	t.Cleanup(m.Close)
	ctx := context.Background()
	get := func(tenant string) *Aggregator {
		t.Helper()
		a, err := m.For(ctx, tenant, true)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	acme, globex := get("acme"), get("globex")
	if sb, _ := m.For(ctx, "acme", false); sb == acme {
		t.Fatal("SANDBOX and LIVE share an aggregator")
	}

	t.Run("a reload that changes no credential keeps every aggregator", func(t *testing.T) {
		m.Resync(ctx)
		if get("acme") != acme || get("globex") != globex || builds["acme"] != 1 || builds["globex"] != 1 {
			t.Fatalf("rebuilt without cause: %v", builds)
		}
	})
	t.Run("a changed credential rebuilds that tenant's aggregator alone", func(t *testing.T) {
		mu.Lock()
		creds["acme"] = "key-2"
		mu.Unlock()
		m.Resync(ctx)
		if a := get("acme"); a == acme || builds["acme"] != 2 {
			t.Fatalf("acme kept its old aggregator: %v", builds)
		}
		if get("globex") != globex || builds["globex"] != 1 {
			t.Fatalf("globex rebuilt: %v", builds)
		}
		if acme.base.Err() == nil {
			t.Fatal("the replaced aggregator was not closed")
		}
	})
	t.Run("a tenant that leaves LIVE loses its aggregator", func(t *testing.T) {
		mu.Lock()
		creds["globex"] = "" // back in SANDBOX
		mu.Unlock()
		m.Resync(ctx)
		if globex.base.Err() == nil {
			t.Fatal("the aggregator of a tenant out of LIVE still runs")
		}
		n := 0
		m.Each(func(*Aggregator) { n++ })
		if n != 2 { // SANDBOX and acme's
			t.Fatalf("%d aggregators in use, want 2", n)
		}
		mu.Lock()
		creds["globex"] = "key-9"
		mu.Unlock()
		globex = get("globex")
	})
	t.Run("forgetting a tenant rebuilds it on next use", func(t *testing.T) {
		m.Forget("globex")
		if get("globex") == globex || builds["globex"] != 3 {
			t.Fatalf("globex not rebuilt: %v", builds)
		}
	})
}

func TestMarketWithoutLiveProvidersServesAnEmptyAggregator(t *testing.T) {
	m := New(NewAggregator(nil, Options{Mode: "sandbox"}), LiveBuilder{})
	t.Cleanup(m.Close)
	a, err := m.For(context.Background(), "acme", true)
	if err != nil {
		t.Fatal(err)
	}
	if offers := a.Snapshot(context.Background()).Offers; len(offers) != 0 {
		t.Fatalf("LIVE without providers offers %d", len(offers))
	}
	m.Resync(context.Background())
	if b, _ := m.For(context.Background(), "acme", true); b == a || len(b.Snapshot(context.Background()).Offers) != 0 {
		t.Fatal("without a credentials fingerprint a reload must start LIVE afresh, still empty")
	}
}
