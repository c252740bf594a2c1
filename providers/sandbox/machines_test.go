package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/sandbox"
)

// The machine tests run on the real store, which implements
// sandbox.Machines; they sit outside package sandbox because the store
// imports it.

func newProviders(t *testing.T, b sandbox.Behaviour, now func() time.Time) map[string]*sandbox.Provider {
	entries, err := sandbox.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	s := dbtest.Open(t, "sqlite")
	var mu sync.Mutex
	out := map[string]*sandbox.Provider{}
	for _, p := range sandbox.Providers(entries, sandbox.Options{Machines: s, Now: now, Behaviour: func() sandbox.Behaviour { mu.Lock(); defer mu.Unlock(); return b }}) {
		out[p.Provider()] = p
	}
	return out
}

// availableOffer finds an offer of the provider that has capacity now.
func availableOffer(t *testing.T, p *sandbox.Provider) providers.Offer {
	offers, err := p.ListOffers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offers {
		if o.Availability != providers.None {
			return o
		}
	}
	t.Fatalf("%s has nothing available", p.Provider())
	return providers.Offer{}
}

func TestInstantProvisioningLifecycle(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	ps := newProviders(t, sandbox.Behaviour{}, func() time.Time { return now })
	p := ps["lambda"]
	ctx := context.Background()
	offer := availableOffer(t, p)
	inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.State != providers.StateRunning || inst.PublicIP == "" || inst.PriceHour != offer.PriceHour {
		t.Fatalf("created %+v", inst)
	}
	if err := p.Start(ctx, inst.ID); !errors.Is(err, providers.ErrInvalid) {
		t.Fatalf("starting a running machine: %v", err)
	}
	if err := p.Stop(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Instance(ctx, inst.ID); got.State != providers.StateStopped {
		t.Fatalf("after stop: %s", got.State)
	}
	if err := p.Start(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.Terminate(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.Terminate(ctx, inst.ID); !errors.Is(err, providers.ErrInvalid) {
		t.Fatalf("terminating twice: %v", err)
	}
	if _, err := ps["runpod"].Instance(ctx, inst.ID); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("another provider's machine: %v", err)
	}
	if _, err := p.Create(ctx, providers.CreateRequest{Offer: providers.Offer{SKU: "nope", Region: "nowhere"}}); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown shape: %v", err)
	}
}

func TestDelayedBootAndFailures(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()

	ps := newProviders(t, sandbox.Behaviour{Delay: 90 * time.Second}, clock)
	p := ps["runpod"]
	inst, err := p.Create(ctx, providers.CreateRequest{Offer: availableOffer(t, p), Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.State != providers.StatePending {
		t.Fatalf("with a delay the machine must boot first: %s", inst.State)
	}
	mu.Lock()
	now = now.Add(91 * time.Second)
	mu.Unlock()
	if got, _ := p.Instance(ctx, inst.ID); got.State != providers.StateRunning {
		t.Fatalf("after the delay: %s", got.State)
	}

	failing := newProviders(t, sandbox.Behaviour{FailureRate: 1}, clock)["lambda"]
	if _, err := failing.Create(ctx, providers.CreateRequest{Offer: availableOffer(t, failing)}); !errors.Is(err, providers.ErrNoCapacity) {
		t.Fatalf("a certain failure without delay must refuse at once: %v", err)
	}
	slowFail := newProviders(t, sandbox.Behaviour{FailureRate: 1, Delay: time.Minute}, clock)["lambda"]
	inst, err = slowFail.Create(ctx, providers.CreateRequest{Offer: availableOffer(t, slowFail)})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if got, _ := slowFail.Instance(ctx, inst.ID); got.State != providers.StateFailed {
		t.Fatalf("a failing boot must end failed: %s", got.State)
	}
}
