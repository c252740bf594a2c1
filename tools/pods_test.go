package tools_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// TestConcurrentDeploysNeverOverspend: fifty users deploy a draft each at
// once against one tenant budget; the deploys that pass hold exactly what
// they reserved, never more than the budget, on both backends.
func TestConcurrentDeploysNeverOverspend(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			p := platformtest.New(t, backend)
			ctx := context.Background()
			setLimit(t, p, "ratelimit.tool_calls_per_minute", "1000")
			setLimit(t, p, "pods.deploy_reserve_hours", "1")
			const n = 50
			ids := make([]string, n)
			users := make([]actor.Actor, n)
			var reserve money.Amount
			for i := range n {
				users[i] = platformtest.AcmeUser
				users[i].ID = fmt.Sprintf("user-%d", i)
				res := p.Registry.Call(ctx, tools.Request{Actor: users[i], Face: audit.FaceDirect, Tool: tools.ToolConfigurePod,
					Input: []byte(`{"name":"p","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"}`)})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				q := res.Output.(tools.PodQuote)
				ids[i], reserve = q.Pod.ID, q.Pod.PriceHour
			}
			// A budget for about a third of the deploys.
			limit, _ := reserve.MulRat(n/3, 1)
			setLimit(t, p, "budget.monthly_limit_usd", limit.Decimal())

			var wg sync.WaitGroup
			results := make([]tools.Result, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i] = p.Registry.Call(ctx, tools.Request{Actor: users[i], Face: audit.FaceDirect, Tool: tools.ToolDeployPod,
						Input: []byte(`{"id":"` + ids[i] + `"}`)})
				}()
			}
			wg.Wait()
			deployed, refused := 0, 0
			for _, r := range results {
				switch {
				case r.Err == nil:
					deployed++
				case r.Verdict.Rule == policies.RuleBudget:
					refused++
				default:
					t.Fatalf("unexpected result %+v", r)
				}
			}
			u, err := p.Store.BudgetUsage(ctx, "acme", budget.Period(time.Now()), "")
			if err != nil {
				t.Fatal(err)
			}
			spent, _ := reserve.MulRat(int64(deployed), 1)
			// Deploys hold their reservations until their pods are ready.
			if deployed != n/3 || refused != n-n/3 || u.Held != spent || u.Held > limit || u.Spent != 0 {
				t.Fatalf("deployed %d, refused %d, usage %+v (limit %s); want %d deployed holding exactly their reservations", deployed, refused, u, limit, n/3)
			}
		})
	}
}

// TestAConfigurationBeyondWhatAProviderSellsIsRefusedByField: a named
// provider's declared shapes bound the configuration (each broken limit a
// field of its own, naming the provider and the limit); with auto the
// providers that cannot sell it are passed over, and a configuration no
// provider sells is refused the same way; an unknown provider lists the
// valid ones.
func TestAConfigurationBeyondWhatAProviderSellsIsRefusedByField(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	configure := func(input string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceDirect, Tool: tools.ToolConfigurePod,
			Input: []byte(input)})
	}
	fields := func(err error) map[string]string {
		out := map[string]string{}
		if fe, ok := fault.As(err); ok {
			for _, pr := range fe.Problems {
				out[pr.Field] = pr.Message
			}
		}
		return out
	}
	res := configure(`{"name":"p","gpu":"H100-SXM-80GB","gpu_count":3,"provider":"lambda","vcpu":500,"ram_gib":64,"disk_gib":100,
		"image":"cuda-12.4-base","pricing":"on_demand","region":"mars-1"}`)
	got := fields(res.Err)
	if fault.KindOf(res.Err) != fault.KindInvalid || len(got) != 3 || !strings.Contains(got["gpu_count"], "lambda sells: want 1 or 8 GPUs") ||
		!strings.Contains(got["vcpu"], "to 240 vCPUs") || !strings.Contains(got["region"], `unknown region "mars-1"; valid: europe-central-1`) {
		t.Fatalf("beyond lambda: %v %v", res.Err, got)
	}
	// Fewer CPUs than the smallest machine has is not a problem: the pod
	// gets at least what it asked for.
	if res := configure(`{"name":"p","gpu":"H100-SXM-80GB","gpu_count":1,"provider":"lambda","vcpu":2,"ram_gib":8,"disk_gib":100,
		"image":"cuda-12.4-base","pricing":"on_demand"}`); res.Err != nil {
		t.Fatalf("a small request on lambda: %v", res.Err)
	}
	res = configure(`{"name":"p","gpu":"H100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":4000,"ram_gib":64,"disk_gib":100,
		"image":"cuda-12.4-base","pricing":"on_demand"}`)
	if got := fields(res.Err); fault.KindOf(res.Err) != fault.KindInvalid || !strings.Contains(got["vcpu"], "sells: want") {
		t.Fatalf("beyond every provider: %v %v", res.Err, got)
	}
	res = configure(`{"name":"p","gpu":"H100-SXM-80GB","gpu_count":1,"provider":"nimbus","vcpu":8,"ram_gib":64,"disk_gib":100,
		"image":"cuda-12.4-base","pricing":"on_demand"}`)
	if got := fields(res.Err); !strings.Contains(got["provider"], `unknown provider "nimbus"; valid: auto, `) {
		t.Fatalf("an unknown provider: %v %v", res.Err, got)
	}
}

// TestAUsersPlanBoundsTheirGPUsPodsAndMarkup: the FREE plan's GPU classes
// refuse a GPU outside them when configuring; its markup prices the
// estimate; its bound on pods at once refuses the deploy beyond it (on
// both backends, where the count is under the owner's lock).
func TestAUsersPlanBoundsTheirGPUsPodsAndMarkup(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			p := platformtest.New(t, backend)
			ctx := context.Background()
			setLimit(t, p, "ratelimit.tool_calls_per_minute", "1000")
			setLimit(t, p, "plans.free.gpu_classes", "L4,T4")
			setLimit(t, p, "plans.free.max_running_pods", "2")
			setLimit(t, p, "plans.free.markup_percent", "20")
			call := func(tool, input string) tools.Result {
				return p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
			}
			const cfg = `"gpu_count":1,"provider":"auto","vcpu":4,"ram_gib":16,"disk_gib":50,"image":"cuda-12.4-base","pricing":"on_demand"`
			res := call(tools.ToolConfigurePod, `{"name":"big","gpu":"H100-SXM-80GB",`+cfg+`}`)
			if fault.KindOf(res.Err) != fault.KindForbidden || !strings.Contains(res.Err.Error(), "the FREE plan deploys L4, T4 GPUs, not H100-SXM-80GB") {
				t.Fatalf("an H100 on FREE: %v", res.Err)
			}
			var ids []string
			for i := range 3 {
				res := call(tools.ToolConfigurePod, fmt.Sprintf(`{"name":"small-%d","gpu":"L4-PCIE-24GB",%s}`, i, cfg))
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				q := res.Output.(tools.PodQuote)
				if want, _ := q.Estimate.ProviderHour.MulRat(20, 100); q.Estimate.MarkupPercent != 20 || q.Estimate.MarkupHour != want {
					t.Fatalf("estimate %+v; want the plan's 20%% markup", q.Estimate)
				}
				ids = append(ids, q.Pod.ID)
			}
			// Two deploy at once with one place left: one of them passes.
			setLimit(t, p, "plans.free.max_running_pods", "1")
			var wg sync.WaitGroup
			results := make([]tools.Result, 2)
			for i := range 2 {
				wg.Go(func() { results[i] = call(tools.ToolDeployPod, `{"id":"`+ids[i]+`"}`) })
			}
			wg.Wait()
			passed := 0
			for _, r := range results {
				switch {
				case r.Err == nil:
					passed++
				case fault.KindOf(r.Err) != fault.KindForbidden || !strings.Contains(r.Err.Error(), "the FREE plan runs at most 1 pod at once and 1 run now"):
					t.Fatalf("a deploy beyond the plan: %v", r.Err)
				}
			}
			if passed != 1 {
				t.Fatalf("%d deploys passed; want 1 of 2", passed)
			}
			setLimit(t, p, "plans.free.max_running_pods", "2")
			if res := call(tools.ToolDeployPod, `{"id":"`+ids[2]+`"}`); res.Err != nil {
				t.Fatalf("a deploy within the plan: %v", res.Err)
			}
		})
	}
}

// TestAnEstimatePricesAConfigurationWithoutSavingIt: estimate_pod answers
// what configure_pod would save — the same offer and cost — with the
// limits of that provider's machines, saves no draft and writes no audit
// record; a configuration beyond the provider is refused by field as when
// configuring, and a name may still be empty.
func TestAnEstimatePricesAConfigurationWithoutSavingIt(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	call := func(tool, input string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
	}
	const cfg = `"gpu":"H100-SXM-80GB","gpu_count":1,"provider":"lambda","vcpu":8,"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"`
	res := call(tools.ToolEstimatePod, `{`+cfg+`}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	est := res.Output.(tools.EstimateOutput)
	l := est.Limits
	if l.Provider != "lambda" || !slices.Equal(l.GPUCounts, []int{1, 8}) || l.VCPU.Max != 240 || l.RAMGiB.Max == 0 || l.DiskGiB.Max == 0 ||
		!slices.Contains(l.Regions, "europe-central-1") {
		t.Fatalf("limits %+v", l)
	}
	if day, _ := est.Estimate.Hour.MulRat(24, 1); est.Estimate.Hour <= 0 || est.Estimate.Day != day || est.Offer.Provider != "lambda" {
		t.Fatalf("estimate %+v on %+v", est.Estimate, est.Offer)
	}
	if list := call(tools.ToolListPods, `{}`); len(list.Output.(tools.PodList).Pods) != 0 {
		t.Fatalf("an estimate saved a pod: %+v", list.Output)
	}
	saved := call(tools.ToolConfigurePod, `{"name":"p",`+cfg+`}`)
	if saved.Err != nil {
		t.Fatal(saved.Err)
	}
	if q := saved.Output.(tools.PodQuote); q.Estimate != est.Estimate || q.Offer.ID != est.Offer.ID {
		t.Fatalf("configured %+v on %s; estimated %+v on %s", q.Estimate, q.Offer.ID, est.Estimate, est.Offer.ID)
	}
	res = call(tools.ToolEstimatePod, `{"gpu":"H100-SXM-80GB","gpu_count":3,"provider":"lambda","vcpu":500,"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"}`)
	if fe, ok := fault.As(res.Err); !ok || fe.Kind != fault.KindInvalid || len(fe.Problems) != 2 {
		t.Fatalf("beyond lambda: %v", res.Err)
	}
}
