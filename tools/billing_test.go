package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// TestBillingToolsThroughTheRegistry: each billing tool is the caller's
// own: a dry run changes nothing, an API token pays for no one, a user
// subscribes with the mock processor and holds the plan at once, and a
// card number is refused before anything reads it once Stripe serves the
// tenant.
func TestBillingToolsThroughTheRegistry(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	ana := platformtest.AcmeUser
	p.Person(t, "acme", ana.ID, "ana@acme.test", "Ana", actor.RoleUser)
	call := func(who actor.Actor, tool, input string) tools.Result {
		t.Helper()
		return p.Registry.Call(ctx, tools.Request{Actor: who, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
	}

	plans := call(ana, tools.ToolListPlans, `{}`)
	if ps, ok := plans.Output.(billing.Plans); plans.Err != nil || !ok || ps.Recommended != billing.Pro || len(ps.Plans) != 3 {
		t.Fatalf("list_plans = %+v, %v", plans.Output, plans.Err)
	}

	preview := call(ana, tools.ToolStartPaymentSetup, `{"dry_run":true}`)
	if pv, ok := preview.Output.(tools.Preview); preview.Err != nil || !ok || !strings.Contains(pv.Effect, "mock") {
		t.Fatalf("setup dry run = %+v, %v", preview.Output, preview.Err)
	}
	if _, err := p.Store.BillingCustomer(ctx, "acme", ana.ID, mode.Sandbox); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("a dry run made a customer: %v", err)
	}
	token := actor.Actor{Kind: actor.KindToken, ID: "tok_1", TenantID: "acme", Role: actor.RoleUser}
	if res := call(token, tools.ToolStartPaymentSetup, `{}`); fault.KindOf(res.Err) != fault.KindForbidden {
		t.Fatalf("an API token's setup = %v", res.Err)
	}

	setup := call(ana, tools.ToolStartPaymentSetup, `{}`)
	if setup.Err != nil {
		t.Fatal(setup.Err)
	}
	si := setup.Output.(billing.Setup).SetupIntent
	if res := call(ana, tools.ToolConfirmPaymentSetup, `{"setup_intent_id":"`+si+`","card_number":"4242424242424242"}`); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := call(ana, tools.ToolSubscribe, `{"plan":"enterprise","interval":"weekly"}`); fault.KindOf(res.Err) != fault.KindInvalid {
		t.Fatalf("a weekly plan = %v", res.Err)
	}
	sub := call(ana, tools.ToolSubscribe, `{"plan":"pro","interval":"annual"}`)
	if got, ok := sub.Output.(billing.Subscribed); sub.Err != nil || !ok || got.Role != actor.RoleProUser || got.Subscription.Status != billing.Active {
		t.Fatalf("subscribe = %+v, %v", sub.Output, sub.Err)
	}
	change := call(ana, tools.ToolChangePlan, `{"plan":"enterprise","interval":"annual","dry_run":true}`)
	if pv, ok := change.Output.(tools.Preview); change.Err != nil || !ok || !strings.Contains(pv.Effect, "prorated") {
		t.Fatalf("change dry run = %+v, %v", change.Output, change.Err)
	}
	if res := call(ana, tools.ToolCancelSubscription, `{}`); res.Err != nil || !res.Output.(billing.Subscription).CancelAtPeriodEnd {
		t.Fatalf("cancel = %+v, %v", res.Output, res.Err)
	}
	got := call(ana, tools.ToolGetSubscription, `{}`)
	acct, ok := got.Output.(billing.Account)
	if got.Err != nil || !ok || acct.Plan != billing.Pro || !acct.Subscription.CancelAtPeriodEnd || acct.PaymentMethod.Last4 != "4242" {
		t.Fatalf("get_subscription = %+v, %v", got.Output, got.Err)
	}

	if _, err := p.Params.Set(ctx, platformtest.Operator, params.SetRequest{Scope: params.Scope{TenantID: "acme", Mode: mode.Sandbox},
		Key: "stripe.secret_key", Value: "sk_test_acme"}); err != nil {
		t.Fatal(err)
	}
	res := call(ana, tools.ToolConfirmPaymentSetup, `{"setup_intent_id":"seti_1","card_number":"4242 4242 4242 4242"}`)
	if fault.KindOf(res.Err) != fault.KindForbidden {
		t.Fatalf("a card number with Stripe = %v", res.Err)
	}
	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: tools.ToolConfirmPaymentSetup})
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit = %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		var in map[string]any
		if err := json.Unmarshal(r.Input, &in); err != nil || in["card_number"] != "[redacted]" {
			t.Fatalf("audited input %s", r.Input)
		}
	}
}

// TestACardNumberIsAskedForOnlyByTheMock: confirm_payment_setup takes a
// setup without card_number (Stripe's browser confirmation); the mock
// backend, which confirms with a test card, refuses it beside that field.
func TestACardNumberIsAskedForOnlyByTheMock(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	ana := platformtest.AcmeUser
	p.Person(t, "acme", ana.ID, "ana@acme.test", "Ana", actor.RoleUser)
	setup := p.Registry.Call(ctx, tools.Request{Actor: ana, Face: audit.FaceDirect, Tool: tools.ToolStartPaymentSetup, Input: []byte(`{}`)})
	if setup.Err != nil {
		t.Fatal(setup.Err)
	}
	si := setup.Output.(billing.Setup).SetupIntent
	res := p.Registry.Call(ctx, tools.Request{Actor: ana, Face: audit.FaceDirect, Tool: tools.ToolConfirmPaymentSetup,
		Input: []byte(`{"setup_intent_id":"` + si + `"}`)})
	fe, ok := fault.As(res.Err)
	if !ok || fe.Kind != fault.KindInvalid || len(fe.Problems) != 1 || fe.Problems[0].Field != "card_number" {
		t.Fatalf("the mock without a card number = %v", res.Err)
	}
	if _, err := p.Store.DefaultPaymentMethod(ctx, "acme", ana.ID, mode.Sandbox); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("a refused confirmation saved a method: %v", err)
	}
}
