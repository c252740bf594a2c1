package tools_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// registerSpend adds a tool that spends what it is told, so the budget
// mechanism is exercised through the real pipeline and ledger.
func registerSpend(r *tools.Registry) { platformtest.RegisterSpend(r) }

func setLimit(t *testing.T, p *platformtest.Platform, key, value string) {
	t.Helper()
	if _, err := p.Params.Set(context.Background(), platformtest.Operator,
		params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: key, Value: value, Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}
}

// TestBudgetHoldsUnderConcurrency: fifty concurrent calls of $3 against a
// $100 budget never overspend — exactly 33 run — on both backends.
func TestBudgetHoldsUnderConcurrency(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			p := platformtest.New(t, backend)
			registerSpend(p.Registry)
			setLimit(t, p, "budget.monthly_limit_usd", "100")
			setLimit(t, p, "ratelimit.tool_calls_per_minute", "1000")
			const n = 50
			var wg sync.WaitGroup
			results := make(chan tools.Result, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a := platformtest.AcmeUser
					a.ID = fmt.Sprintf("user-%d", i)
					results <- p.Registry.Call(context.Background(), tools.Request{Actor: a, Face: "direct", Tool: "spend_money",
						Input: []byte(`{"cost_usd":"3"}`)})
				}()
			}
			wg.Wait()
			close(results)
			allowed, budgetDenied := 0, 0
			for r := range results {
				switch {
				case r.Err == nil:
					allowed++
				case r.Verdict.Rule == "budget":
					budgetDenied++
				default:
					t.Fatalf("unexpected result %+v", r)
				}
			}
			u, err := p.Store.BudgetUsage(context.Background(), "acme", budget.Period(time.Now()), "")
			if err != nil {
				t.Fatal(err)
			}
			if allowed != 33 || budgetDenied != 17 || u.Spent != 99*money.Dollar || u.Held != 0 {
				t.Fatalf("allowed %d, denied %d, usage %+v; want 33, 17, spent $99 and nothing held", allowed, budgetDenied, u)
			}
		})
	}
}

func TestBudgetReleasesFailedCallsAndHonoursUserLimits(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	registerSpend(p.Registry)
	setLimit(t, p, "budget.monthly_limit_usd", "10")
	setLimit(t, p, "budget.user_monthly_limit_usd", "4")
	ctx := context.Background()
	spend := func(a actor.Actor, body string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: a, Face: "direct", Tool: "spend_money", Input: []byte(body)})
	}
	if r := spend(platformtest.AcmeUser, `{"cost_usd":"4","fail":true}`); r.Err == nil {
		t.Fatal("a failing call succeeded")
	}
	if r := spend(platformtest.AcmeUser, `{"cost_usd":"4"}`); r.Err != nil {
		t.Fatalf("the failed call's hold was not released: %v", r.Err)
	}
	r := spend(platformtest.AcmeUser, `{"cost_usd":"1"}`)
	var ref *tools.Refusal
	if !errors.As(r.Err, &ref) || ref.Verdict.Rule != "budget" {
		t.Fatalf("the user's limit did not hold: %+v", r)
	}
	other := platformtest.AcmeUser
	other.ID = "someone-else"
	if r := spend(other, `{"cost_usd":"4"}`); r.Err != nil {
		t.Fatalf("another user within the tenant budget was refused: %v", r.Err)
	}
	if r := spend(other, `{"cost_usd":"3"}`); r.Err == nil {
		t.Fatal("the tenant limit did not hold")
	}
	if r := spend(platformtest.AcmeUser, `{"cost_usd":"-1"}`); fault.KindOf(r.Err) != fault.KindInvalid {
		t.Fatalf("a negative estimate = %+v", r)
	}
	t.Run("a dry run shows the cost and reserves nothing", func(t *testing.T) {
		r := spend(other, `{"cost_usd":"2.5","dry_run":true}`)
		pv, ok := r.Output.(tools.Preview)
		if r.Err != nil || !ok || pv.CostUSD != 2_500_000 || !pv.DryRun {
			t.Fatalf("dry run = %+v", r)
		}
	})
	t.Run("the agent's spending call waits for approval above the agent's threshold", func(t *testing.T) {
		agent := actor.Actor{Kind: actor.KindAgent, ID: "agent", TenantID: "acme", Role: actor.RolePodAdmin}
		setLimit(t, p, "agent.approval_above_usd", "1")
		if r := spend(agent, `{"cost_usd":"1.5"}`); r.Verdict.Decision != policies.NeedsApproval || !strings.Contains(r.Verdict.Reason, "above the agent's approval threshold of $1.00") {
			t.Fatalf("agent call over the threshold = %+v", r)
		}
		if r := spend(agent, `{"cost_usd":"0.5"}`); r.Err != nil {
			t.Fatalf("agent call under the threshold = %+v", r)
		}
	})
}

// TestBudgetCountsCentsExactly: three ten-cent calls fill a thirty-cent
// budget exactly, the fourth is refused with the exact amounts, and an
// amount given as a JSON number is refused naming its field.
func TestBudgetCountsCentsExactly(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	registerSpend(p.Registry)
	setLimit(t, p, "budget.monthly_limit_usd", "0.30")
	spend := func(body string) tools.Result {
		return p.Registry.Call(context.Background(), tools.Request{Actor: platformtest.AcmeUser, Face: "direct", Tool: "spend_money", Input: []byte(body)})
	}
	for i := range 3 {
		if r := spend(`{"cost_usd":"0.10"}`); r.Err != nil {
			t.Fatalf("call %d of $0.10 against $0.30 was refused: %v", i+1, r.Err)
		}
	}
	r := spend(`{"cost_usd":"0.10"}`)
	const want = "spend_money would cost about $0.10 but only $0.00 of the budget remains"
	if r.Verdict.Rule != "budget" || r.Verdict.Reason != want {
		t.Fatalf("fourth call = %+v; want the budget rule saying %q", r.Verdict, want)
	}
	u, err := p.Store.BudgetUsage(context.Background(), "acme", budget.Period(time.Now()), "")
	if err != nil || u.Spent != money.MustParse("0.30") || u.Held != 0 {
		t.Fatalf("usage = %+v, %v; want exactly $0.30 spent", u, err)
	}
	r = spend(`{"cost_usd":0.1}`)
	fe, ok := fault.As(r.Err)
	if !ok || fe.Kind != fault.KindMalformed || len(fe.Problems) != 1 || fe.Problems[0].Field != "cost_usd" ||
		!strings.Contains(fe.Problems[0].Message, `decimal string such as "12.34"`) {
		t.Fatalf("a JSON number = %v; want a malformed cost_usd asking for a decimal string", r.Err)
	}
}

func paramsRequest(key, value string) params.SetRequest {
	return params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: key, Value: value, Confirm: "acme"}
}
