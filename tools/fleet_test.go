package tools_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// TestTheFleetIsForPodAdmins: a POD Admin reads the tenant's fleet now
// and hour by hour; a user neither sees the tool nor may call it; hours
// beyond 30 days are refused.
func TestTheFleetIsForPodAdmins(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	hour := p.Clock.Now().UTC().Truncate(time.Hour)
	start := hour.Add(-time.Hour) // one whole hour, the one before this
	pd := pods.Pod{ID: "pod-f", TenantID: "acme", OwnerID: platformtest.AcmeUser.ID, Config: pods.Config{Name: "f", GPU: "H100-SXM-80GB",
		GPUCount: 4, Provider: pods.Auto, OfferID: "runpod-h100", VCPU: 8, RAMGiB: 64, DiskGiB: 100, Image: "cuda-12.4-base", Pricing: pods.OnDemand},
		State: pods.Stopped, PriceHour: money.MustParse("9.60"), Revision: 1, CreatedAt: start, UpdatedAt: start}
	if err := p.Store.CreatePod(ctx, pd, pods.Transition{At: start, Actor: actor.System("test")}); err != nil {
		t.Fatal(err)
	}
	rate := pods.Rate{ProviderHour: money.MustParse("8.00"), MarkupBps: 2000}
	if err := p.Store.OpenUsage(ctx, pods.Usage{ID: "use-f", TenantID: "acme", PodID: "pod-f", OwnerID: pd.OwnerID, OfferID: "runpod-h100",
		GPUCount: 4, PriceHour: rate.Hour(), Rate: rate, Start: start}); err != nil {
		t.Fatal(err)
	}
	if err := p.Store.CloseUsage(ctx, "pod-f", hour); err != nil {
		t.Fatal(err)
	}
	call := func(a actor.Actor, input string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: a, Face: audit.FaceDirect, Tool: tools.ToolFleetUtilization, Input: []byte(input)})
	}

	res := call(platformtest.AcmeAdmin, `{}`)
	u, ok := res.Output.(pods.Utilization)
	if res.Err != nil || !ok || u.Hours != 24 || len(u.Series) != 24 {
		t.Fatalf("an admin's fleet: %+v", res)
	}
	h := u.Series[22]
	if !h.Hour.Equal(start) || h.Pods != 1 || h.GPUs != 4 || h.Spend != money.MustParse("9.60") ||
		len(h.ByProvider) != 1 || h.ByProvider[0].Provider != "runpod" {
		t.Fatalf("the hour the pod ran: %+v", h)
	}
	if len(u.Now.Pods) != 1 || u.Now.Pods[0] != (pods.StateCount{State: pods.Stopped, Pods: 1}) || u.Now.SpendHour != 0 {
		t.Fatalf("the fleet now: %+v", u.Now)
	}
	if res := call(platformtest.AcmeAdmin, `{"hours":2}`); res.Err != nil || len(res.Output.(pods.Utilization).Series) != 2 {
		t.Fatalf("two hours: %+v", res)
	}
	if res := call(platformtest.BetaAdmin, `{}`); res.Err != nil || res.Output.(pods.Utilization).Series[22].Pods != 0 {
		t.Fatalf("another tenant's admin saw acme's pods: %+v", res)
	}
	for _, in := range []string{`{"hours":721}`, `{"hours":-1}`} {
		if res := call(platformtest.AcmeAdmin, in); fault.KindOf(res.Err) != fault.KindInvalid {
			t.Errorf("%s: %+v", in, res)
		}
	}

	// Refused by the role policy: a 403 on the REST face.
	var ref *tools.Refusal
	if res := call(platformtest.AcmeUser, `{}`); !errors.As(res.Err, &ref) || ref.Verdict.Decision != policies.Deny || ref.Verdict.Rule != policies.RuleRole {
		t.Fatalf("a user read the fleet: %+v", res)
	}
	for _, m := range p.Registry.Visible(platformtest.AcmeUser) {
		if m.Name == tools.ToolFleetUtilization {
			t.Fatal("a user sees fleet_utilization")
		}
	}
}
