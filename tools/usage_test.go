package tools_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// TestUsageIsEachUsersOwnAndTheTenantsForAnAdmin: usage_summary answers a
// user's own pods' cost (another user's is refused), a POD Admin's any
// user's or the whole tenant's; cost_breakdown is for admins; a malformed
// month is a 422; once settled, get_balance shows each user their own
// account.
func TestUsageIsEachUsersOwnAndTheTenantsForAnAdmin(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	month := time.Now().UTC()
	start := time.Date(month.Year(), month.Month(), 1, 1, 0, 0, 0, time.UTC)
	for _, r := range []struct{ id, owner string }{{"pod-u", platformtest.AcmeUser.ID}, {"pod-p", platformtest.AcmePro.ID}} {
		pd := pods.Pod{ID: r.id, TenantID: "acme", OwnerID: r.owner, Config: pods.Config{Name: "p", GPU: "H100-SXM-80GB", GPUCount: 1,
			Provider: pods.Auto, OfferID: "lambda-h100", VCPU: 8, RAMGiB: 64, DiskGiB: 100, Image: "cuda-12.4-base", Pricing: pods.OnDemand},
			State: pods.Running, Revision: 1, CreatedAt: start, UpdatedAt: start}
		if err := p.Store.CreatePod(ctx, pd, pods.Transition{At: start, Actor: actor.System("test")}); err != nil {
			t.Fatal(err)
		}
		rate := pods.Rate{ProviderHour: money.MustParse("2.00"), MarkupBps: 2000}
		if err := p.Store.OpenUsage(ctx, pods.Usage{ID: "use-" + r.id, TenantID: "acme", PodID: r.id, OwnerID: r.owner, OfferID: "lambda-h100",
			PriceHour: rate.Hour(), Rate: rate, Start: start}); err != nil {
			t.Fatal(err)
		}
		if err := p.Store.CloseUsage(ctx, r.id, start.Add(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	call := func(a actor.Actor, tool, input string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: a, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
	}
	res := call(platformtest.AcmeUser, tools.ToolUsageSummary, `{}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if r := res.Output.(billing.Rollup); len(r.ByPod) != 1 || r.ByPod[0].Key != "pod-u" || r.Total.Total != money.MustParse("3.60") {
		t.Fatalf("a user's own usage: %+v", r)
	}
	if res := call(platformtest.AcmeUser, tools.ToolUsageSummary, `{"user_id":"`+platformtest.AcmePro.ID+`"}`); fault.KindOf(res.Err) != fault.KindForbidden {
		t.Fatalf("another user's usage: %+v", res)
	}
	res = call(platformtest.AcmeAdmin, tools.ToolCostBreakdown, `{}`)
	if r, _ := res.Output.(billing.Rollup); res.Err != nil || len(r.ByUser) != 2 || r.Total.Total != money.MustParse("7.20") {
		t.Fatalf("the tenant's costs: %+v", res)
	}
	if res := call(platformtest.AcmeUser, tools.ToolCostBreakdown, `{}`); res.Err == nil {
		t.Fatal("a user read the tenant's costs")
	}
	if res := call(platformtest.AcmeUser, tools.ToolUsageSummary, `{"period":"last month"}`); fault.KindOf(res.Err) != fault.KindInvalid {
		t.Fatalf("a malformed period: %+v", res)
	}

	// Settled, each ended interval is a charge on its owner's account.
	if n, err := billing.Settle(ctx, p.Store, p.Store, "acme", time.Now(), nil); err != nil || n != 2 {
		t.Fatalf("settled %d, %v", n, err)
	}
	res = call(platformtest.AcmeUser, tools.ToolGetBalance, `{}`)
	if a, _ := res.Output.(tools.Account); res.Err != nil || a.Balance != money.MustParse("-3.60") || len(a.Entries) != 1 ||
		a.Entries[0].Kind != billing.KindUsagePayg {
		t.Fatalf("the user's account: %+v", res)
	}
	if res := call(platformtest.AcmeUser, tools.ToolGetBalance, `{"user_id":"`+platformtest.AcmePro.ID+`"}`); fault.KindOf(res.Err) != fault.KindForbidden {
		t.Fatalf("another user's account: %+v", res)
	}
	if res := call(platformtest.AcmeAdmin, tools.ToolGetBalance, `{"user_id":"`+platformtest.AcmePro.ID+`"}`); res.Err != nil {
		t.Fatalf("an admin reading a user's account: %+v", res)
	}
}
