package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/sandbox"
)

// TestASimulatedMachineIsBusyForAWhileThenIdle: a started machine reports
// activity while its simulated workload runs (20 to 40 minutes), then the
// time the workload ended.
func TestASimulatedMachineIsBusyForAWhileThenIdle(t *testing.T) {
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := start
	p := newProviders(t, sandbox.Behaviour{}, func() time.Time { return now })["lambda"]
	ctx := context.Background()
	inst, err := p.Create(ctx, providers.CreateRequest{Offer: availableOffer(t, p), Name: "pod-1"})
	if err != nil {
		t.Fatal(err)
	}
	now = start.Add(10 * time.Minute)
	if got, err := p.LastActive(ctx, inst.ID); err != nil || !got.Equal(now) {
		t.Fatalf("10 minutes in: %v %v", got, err)
	}
	now = start.Add(3 * time.Hour)
	got, err := p.LastActive(ctx, inst.ID)
	if err != nil || got.Before(start.Add(20*time.Minute)) || got.After(start.Add(40*time.Minute)) {
		t.Fatalf("3 hours in, last busy at %v (%v)", got, err)
	}
	if again, _ := p.LastActive(ctx, inst.ID); !again.Equal(got) {
		t.Fatalf("the workload changed length: %v then %v", got, again)
	}
	if _, err := p.LastActive(ctx, "sbx-lambda-nope"); err == nil {
		t.Fatal("an unknown machine reported activity")
	}
}
