package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
)

// ran records pod id of owner as running on offer at rate from start to
// end (open when end is zero).
func ran(t testing.TB, st *store.Store, id, owner, offer string, rate pods.Rate, start, end time.Time) {
	t.Helper()
	ctx := context.Background()
	p := pods.Pod{ID: id, TenantID: "acme", OwnerID: owner, Config: pods.Config{Name: "p", GPU: "H100-SXM-80GB", GPUCount: 1,
		Provider: pods.Auto, OfferID: offer, VCPU: 8, RAMGiB: 64, DiskGiB: 100, Image: "cuda-12.4-base", Pricing: pods.OnDemand},
		State: pods.Running, Revision: 1, PriceHour: rate.Hour(), Rate: rate, CreatedAt: start, UpdatedAt: start}
	if err := st.CreatePod(ctx, p, pods.Transition{At: start, Actor: actor.System("test")}); err != nil {
		t.Fatal(err)
	}
	u := pods.Usage{ID: "use-" + id, TenantID: "acme", PodID: id, OwnerID: owner, OfferID: offer, PriceHour: rate.Hour(), Rate: rate, Start: start}
	if err := st.OpenUsage(ctx, u); err != nil {
		t.Fatal(err)
	}
	if !end.IsZero() {
		if err := st.CloseUsage(ctx, id, end); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUsageRollsUpExactlyByPodDayProviderAndUser: a pod that ran 90
// minutes across midnight at $2.00 an hour under a 20 % markup costs
// exactly $3.60, split $2.40 and $1.20 between the two days; intervals are
// cut at the month's bounds and open ones charged up to now; every
// grouping adds up to the total; on both backends.
func TestUsageRollsUpExactlyByPodDayProviderAndUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		st, err := store.Open(ctx, b.URL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, time.UTC) }
		twenty := pods.Rate{ProviderHour: money.MustParse("2.00"), MarkupBps: 2000}
		ran(t, st, "pod-a", "ana", "lambda-h100", twenty, day(1, 23, 0), day(2, 0, 30))
		ran(t, st, "pod-b", "bob", "runpod-h100", pods.Rate{ProviderHour: money.MustParse("3.00"), StorageHour: money.MustParse("0.10")},
			day(2, 12, 0), time.Time{})
		ran(t, st, "pod-c", "ana", "lambda-a100", twenty, time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC), day(1, 0, 10))

		from, to, err := billing.Month("2026-12", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		now := day(2, 13, 0)
		r, err := billing.Roll(ctx, st, pods.UsageFilter{TenantID: "acme"}, from, to, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"pod-a": "3.60", "pod-b": "3.10", "pod-c": "0.40"}
		for _, l := range r.ByPod {
			if l.Total != money.MustParse(want[l.Key]) {
				t.Errorf("%s cost %s, want %s", l.Key, l.Total, want[l.Key])
			}
		}
		if len(r.ByPod) != 3 || r.Total.Total != money.MustParse("7.10") || r.Total.Markup != money.MustParse("0.666667") ||
			r.Total.Storage != money.MustParse("0.10") || r.Total.Seconds != 90*60+3600+10*60 {
			t.Fatalf("total %+v over %d pods", r.Total, len(r.ByPod))
		}
		days := map[string]string{"2026-12-01": "2.80", "2026-12-02": "4.30"}
		for _, l := range r.ByDay {
			if l.Total != money.MustParse(days[l.Key]) {
				t.Errorf("day %s cost %s, want %s", l.Key, l.Total, days[l.Key])
			}
		}
		for name, g := range map[string][]billing.Line{"day": r.ByDay, "provider": r.ByProvider, "user": r.ByUser} {
			var sum pods.Charge
			for _, l := range g {
				sum = sum.Add(l.Charge)
			}
			if sum != r.Total {
				t.Errorf("by %s adds up to %+v, not the total %+v", name, sum, r.Total)
			}
		}
		if r.ByProvider[0].Key != "lambda" || r.ByUser[0].Key != "ana" || r.ByUser[0].Total != money.MustParse("4.00") {
			t.Fatalf("by provider %+v, by user %+v", r.ByProvider, r.ByUser)
		}
		mine, _ := billing.Roll(ctx, st, pods.UsageFilter{TenantID: "acme", OwnerID: "bob"}, from, to, now)
		if len(mine.ByPod) != 1 || mine.Total.Total != money.MustParse("3.10") {
			t.Fatalf("bob's usage %+v", mine)
		}
		if _, _, err := billing.Month("December", time.Time{}); err == nil {
			t.Fatal("a malformed period was accepted")
		}
	})
}
