package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/sandbox"
	"github.com/gpubroker/pod/store"
)

func testPriceHistory(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var pts []market.PricePoint
	for i := 0; i < 5; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		pts = append(pts,
			market.PricePoint{OfferID: "lambda-a", Provider: "lambda", GPU: "H100-SXM-80GB", Region: "us-east-1", PriceHour: 2.49 + float64(i)/100, Availability: providers.Available, At: at},
			market.PricePoint{OfferID: "runpod-b", Provider: "runpod", GPU: "H100-SXM-80GB", Region: "US", PriceHour: 2.69, SpotPriceHour: 1.25, Availability: providers.Limited, At: at})
	}
	if err := s.RecordPrices(ctx, "sandbox", pts); err != nil {
		t.Fatal(err)
	}
	// Recording the same observation again changes nothing.
	if err := s.RecordPrices(ctx, "sandbox", pts[:2]); err != nil {
		t.Fatal(err)
	}
	got, err := s.PriceHistory(ctx, market.PriceQuery{Mode: "sandbox", OfferID: "lambda-a", Since: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].PriceHour != 2.50 || !got[0].At.Equal(t0.Add(time.Minute)) || got[3].PriceHour != 2.53 {
		t.Fatalf("history by offer = %+v", got)
	}
	got, err = s.PriceHistory(ctx, market.PriceQuery{Mode: "sandbox", GPU: "H100-SXM-80GB", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].SpotPriceHour != 1.25 || got[1].Availability != providers.Limited {
		t.Fatalf("history by gpu = %+v", got)
	}
	if got, _ := s.PriceHistory(ctx, market.PriceQuery{Mode: "live", OfferID: "lambda-a"}); len(got) != 0 {
		t.Fatalf("modes must not mix: %+v", got)
	}
	if _, err := s.PriceHistory(ctx, market.PriceQuery{Mode: "sandbox"}); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("no offer and no gpu: %v", err)
	}
}

func testSandboxInstances(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	in := sandbox.Machine{Instance: providers.Instance{ID: "sbx-1", Provider: "lambda", SKU: "gpu_1x_h100_pcie", Region: "us-east-1",
		State: providers.StatePending, PriceHour: 2.49, PublicIP: "203.0.113.7", SSHPort: 22, CreatedAt: now}, Name: "pod-1", Fail: true, ReadyAt: now.Add(time.Minute), UpdatedAt: now}
	if err := s.CreateSandboxInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSandboxInstance(ctx, "sbx-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != providers.StatePending || !got.Fail || got.PriceHour != 2.49 || !got.ReadyAt.Equal(now.Add(time.Minute)) || got.Name != "pod-1" {
		t.Fatalf("read back %+v", got)
	}
	ok, err := s.SetSandboxInstanceState(ctx, "sbx-1", providers.StateStopped, now, providers.StateRunning)
	if err != nil || ok {
		t.Fatalf("a pending instance cannot be stopped as if running: changed %v, %v", ok, err)
	}
	ok, err = s.SetSandboxInstanceState(ctx, "sbx-1", providers.StateTerminated, now)
	if err != nil || !ok {
		t.Fatalf("terminate: %v %v", ok, err)
	}
	if got, _ := s.GetSandboxInstance(ctx, "sbx-1"); got.State != providers.StateTerminated {
		t.Fatalf("state %s", got.State)
	}
	if _, err := s.GetSandboxInstance(ctx, "nope"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("missing: %v", err)
	}
}
