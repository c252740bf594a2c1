package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
)

// testFleet: a tenant's pods are counted by offer and state, and its
// running intervals are cut at each hour of a window and summed by hour
// and offer to the second: a pod scaled within an hour counts once with
// its most GPUs, an interval still open runs until now, and intervals
// before the window or of another tenant count for nothing.
func testFleet(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	at := func(hhmmss string) time.Time {
		c, err := time.Parse(time.TimeOnly, hhmmss)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 3, 10, c.Hour(), c.Minute(), c.Second(), 0, time.UTC)
	}
	sys := actor.System("test")
	pod := func(tenantID, id, offer string, state pods.State, gpus int, price string) {
		t.Helper()
		p := pods.Pod{ID: id, TenantID: tenantID, OwnerID: "u-ana", State: state, PriceHour: money.MustParse(price),
			Config: pods.Config{Name: id, GPU: "H100-SXM-80GB", GPUCount: gpus, Provider: pods.Auto, OfferID: offer, VCPU: 8, RAMGiB: 64,
				DiskGiB: 100, Image: "cuda-12.4-base", Pricing: pods.OnDemand}, CreatedAt: at("08:00:00"), UpdatedAt: at("08:00:00")}
		if err := s.CreatePod(ctx, p, pods.Transition{At: p.CreatedAt, Actor: sys}); err != nil {
			t.Fatal(err)
		}
	}
	ran := func(tenantID, podID, offer string, gpus int, price string, from, to string) {
		t.Helper()
		u := pods.Usage{ID: "use-" + podID + "-" + from, TenantID: tenantID, PodID: podID, OwnerID: "u-ana", OfferID: offer, GPUCount: gpus,
			PriceHour: money.MustParse(price), Rate: pods.Rate{ProviderHour: money.MustParse(price)}, Start: at(from)}
		if err := s.OpenUsage(ctx, u); err != nil {
			t.Fatal(err)
		}
		if to != "" {
			if err := s.CloseUsage(ctx, podID, at(to)); err != nil {
				t.Fatal(err)
			}
		}
	}
	pod("acme", "pod-a", "lambda-h100", pods.Running, 2, "4.00")
	ran("acme", "pod-a", "lambda-h100", 1, "2.00", "09:00:00", "10:30:00")
	ran("acme", "pod-a", "lambda-h100", 2, "4.00", "10:30:00", "") // scaled to 2 GPUs, running since
	pod("acme", "pod-b", "runpod-a100", pods.Terminated, 1, "1.000001")
	ran("acme", "pod-b", "runpod-a100", 1, "1.000001", "11:59:53", "12:00:10")
	pod("acme", "pod-d", "lambda-h100", pods.Terminated, 1, "2.00")
	ran("acme", "pod-d", "lambda-h100", 1, "2.00", "05:00:00", "06:00:00") // before the window
	pod("acme", "pod-e", "lambda-h100", pods.Draft, 1, "2.49")
	pod("acme", "pod-f", "runpod-a100", pods.Stopped, 1, "1.50")
	pod("beta", "pod-x", "lambda-h100", pods.Running, 8, "20.00") // another tenant's
	ran("beta", "pod-x", "lambda-h100", 8, "20.00", "10:00:00", "")

	counts, err := s.FleetNow(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := []pods.FleetCount{
		{OfferID: "lambda-h100", State: pods.Draft, Pods: 1, GPUs: 1, PriceHour: money.MustParse("2.49")},
		{OfferID: "lambda-h100", State: pods.Running, Pods: 1, GPUs: 2, PriceHour: money.MustParse("4.00")},
		{OfferID: "lambda-h100", State: pods.Terminated, Pods: 1, GPUs: 1, PriceHour: money.MustParse("2.00")},
		{OfferID: "runpod-a100", State: pods.Stopped, Pods: 1, GPUs: 1, PriceHour: money.MustParse("1.50")},
		{OfferID: "runpod-a100", State: pods.Terminated, Pods: 1, GPUs: 1, PriceHour: money.MustParse("1.000001")},
	}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Fatalf("fleet now:\n got %+v\nwant %+v", counts, wantCounts)
	}

	from := pods.FleetWindow(now, 3)
	if !from.Equal(at("10:00:00")) {
		t.Fatalf("window starts %s", from)
	}
	slots, err := s.FleetHours(ctx, "acme", from, 3, now)
	if err != nil {
		t.Fatal(err)
	}
	wantSlots := []pods.FleetSlot{
		// 30 minutes at $2.00 and 30 at $4.00 an hour, with 2 GPUs at most
		{Hour: at("10:00:00"), OfferID: "lambda-h100", Pods: 1, GPUs: 2, PriceSecond: 1800*2_000_000 + 1800*4_000_000},
		{Hour: at("11:00:00"), OfferID: "lambda-h100", Pods: 1, GPUs: 2, PriceSecond: 3600 * 4_000_000},
		{Hour: at("11:00:00"), OfferID: "runpod-a100", Pods: 1, GPUs: 1, PriceSecond: 7 * 1_000_001},
		// the open interval runs until now, 12:30
		{Hour: at("12:00:00"), OfferID: "lambda-h100", Pods: 1, GPUs: 2, PriceSecond: 1800 * 4_000_000},
		{Hour: at("12:00:00"), OfferID: "runpod-a100", Pods: 1, GPUs: 1, PriceSecond: 10 * 1_000_001},
	}
	if !reflect.DeepEqual(slots, wantSlots) {
		t.Fatalf("fleet hours:\n got %+v\nwant %+v", slots, wantSlots)
	}

	u, err := pods.ReadFleet(ctx, s, "acme", 3, now)
	if err != nil {
		t.Fatal(err)
	}
	wantNow := pods.FleetNow{
		Pods:        []pods.StateCount{{State: pods.Draft, Pods: 1}, {State: pods.Running, Pods: 1}, {State: pods.Stopped, Pods: 1}, {State: pods.Terminated, Pods: 2}},
		GPUsRunning: 2, SpendHour: money.MustParse("4.00"),
		ByProvider: []pods.ProviderNow{
			{Provider: "lambda", Pods: []pods.StateCount{{State: pods.Draft, Pods: 1}, {State: pods.Running, Pods: 1}, {State: pods.Terminated, Pods: 1}},
				GPUsRunning: 2, SpendHour: money.MustParse("4.00")},
			{Provider: "runpod", Pods: []pods.StateCount{{State: pods.Stopped, Pods: 1}, {State: pods.Terminated, Pods: 1}}},
		},
	}
	if !reflect.DeepEqual(u.Now, wantNow) {
		t.Fatalf("now:\n got %+v\nwant %+v", u.Now, wantNow)
	}
	wantSeries := []pods.FleetHour{
		{Hour: at("10:00:00"), Pods: 1, GPUs: 2, Spend: money.MustParse("3.00"),
			ByProvider: []pods.ProviderHour{{Provider: "lambda", Pods: 1, GPUs: 2, Spend: money.MustParse("3.00")}}},
		// 7 s at $1.000001 an hour is $0.0019444… and rounds to $0.001944
		{Hour: at("11:00:00"), Pods: 2, GPUs: 3, Spend: money.MustParse("4.001944"),
			ByProvider: []pods.ProviderHour{{Provider: "lambda", Pods: 1, GPUs: 2, Spend: money.MustParse("4.00")},
				{Provider: "runpod", Pods: 1, GPUs: 1, Spend: money.MustParse("0.001944")}}},
		// 10 s is $0.0027777… and rounds to $0.002778
		{Hour: at("12:00:00"), Pods: 2, GPUs: 3, Spend: money.MustParse("2.002778"),
			ByProvider: []pods.ProviderHour{{Provider: "lambda", Pods: 1, GPUs: 2, Spend: money.MustParse("2.00")},
				{Provider: "runpod", Pods: 1, GPUs: 1, Spend: money.MustParse("0.002778")}}},
	}
	if u.Hours != 3 || !u.At.Equal(now) || !reflect.DeepEqual(u.Series, wantSeries) {
		t.Fatalf("series of %d hours at %s:\n got %+v\nwant %+v", u.Hours, u.At, u.Series, wantSeries)
	}

	// A window with nothing in it is every hour, empty.
	empty, err := pods.ReadFleet(ctx, s, "nobody", 2, now)
	if err != nil || len(empty.Series) != 2 || empty.Series[1].Spend != 0 || len(empty.Now.ByProvider) != 0 {
		t.Fatalf("an empty fleet: %+v %v", empty, err)
	}
}
