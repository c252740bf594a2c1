package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
)

// TestPayingForAPlanOverREST: a visitor reads the plans; in a SANDBOX
// tenant without Stripe keys a user saves a test card with the mock
// processor, subscribes to PRO and holds the pro_user role at once; a
// declined card is refused with its decline code and changes no one's
// role; an unknown plan is refused with the valid ones; credit outside
// the allowed range is refused naming it, and within it is credited at once.
func TestPayingForAPlanOverREST(t *testing.T) {
	pt := platformtest.New(t, "sqlite")
	cy := actor.Actor{Kind: actor.KindUser, ID: "acme-cy", TenantID: "acme", Role: actor.RoleUser}
	pt.Tokens["acme-cy"] = cy
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pt.Store, Tools: pt.Registry, Auth: pt.Tokens}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pt.Store, params: pt.Params, audit: pt.Audit}
	ctx := context.Background()
	pt.Person(t, "acme", platformtest.AcmeUser.ID, "ana@acme.test", "Ana", actor.RoleUser)
	pt.Person(t, "acme", cy.ID, "cy@acme.test", "Cy", actor.RoleUser)
	role := func(id string) actor.Role {
		t.Helper()
		u, err := pt.Store.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u.Role
	}

	r := p.do(t, "acme-user", "GET", "/api/v1/plans", "")
	plans, _ := r.body["plans"].([]any)
	if r.status != 200 || r.body["recommended"] != "pro" || len(plans) != 3 || len(r.body["comparison"].([]any)) == 0 {
		t.Fatalf("plans: %d %v", r.status, r.body)
	}

	if r := p.do(t, "", "GET", "/api/v1/plans", ""); r.status != 200 || r.body["recommended"] != "pro" {
		t.Fatalf("plans for a visitor: %d %v", r.status, r.body)
	}
	if r := p.do(t, "", "GET", "/api/v1/billing/subscription", ""); r.status != 401 {
		t.Fatalf("a visitor's subscription: %d %v", r.status, r.body)
	}

	r = p.do(t, "acme-user", "POST", "/api/v1/billing/setup", "")
	if r.status != 201 || r.body["backend"] != "mock" || r.body["client_secret"] == "" || r.body["setup_intent_id"] == nil {
		t.Fatalf("setup: %d %v", r.status, r.body)
	}
	r = p.do(t, "acme-user", "POST", "/api/v1/billing/setup/confirm",
		`{"setup_intent_id":"`+r.body["setup_intent_id"].(string)+`","card_number":"4242 4242 4242 4242"}`)
	if r.status != 200 || r.body["last4"] != "4242" || r.body["default"] != true {
		t.Fatalf("confirm 4242: %d %v", r.status, r.body)
	}
	r = p.do(t, "acme-user", "POST", "/api/v1/billing/subscription", `{"plan":"pro","interval":"monthly","dry_run":true}`)
	if r.status != 201 || !strings.Contains(r.body["effect"].(string), "PRO monthly at 29.00 usd") || role("acme-user") != actor.RoleUser {
		t.Fatalf("dry run: %d %v", r.status, r.body)
	}
	r = p.do(t, "acme-user", "POST", "/api/v1/billing/subscription", `{"plan":"pro","interval":"monthly"}`)
	if r.status != 201 || r.body["role"] != "pro_user" || r.body["subscription"].(map[string]any)["status"] != "active" {
		t.Fatalf("subscribe: %d %v", r.status, r.body)
	}
	if got := role("acme-user"); got != actor.RoleProUser {
		t.Fatalf("role after paying for PRO = %s", got)
	}
	r = p.do(t, "acme-user", "GET", "/api/v1/billing/subscription", "")
	sub, _ := r.body["subscription"].(map[string]any)
	if r.status != 200 || r.body["plan"] != "pro" || sub["status"] != "active" || sub["interval"] != "monthly" || r.body["backend"] != "mock" {
		t.Fatalf("get_subscription: %d %v", r.status, r.body)
	}

	for _, bad := range []string{`"-5"`, `"0.001"`, `"99999999"`} {
		r = p.do(t, "acme-user", "POST", "/api/v1/billing/credits", `{"amount":`+bad+`}`)
		errs, _ := r.body["errors"].([]any)
		if r.status != 422 || field(r) != "amount" || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "from 5.00 to 10000.00") {
			t.Fatalf("credits of %s: %d %v", bad, r.status, r.body)
		}
	}
	r = p.do(t, "acme-user", "POST", "/api/v1/billing/credits", `{"amount":"25.00"}`)
	if r.status != 201 || r.body["credited"] != true || r.body["balance"] != "25.00" {
		t.Fatalf("credits: %d %v", r.status, r.body)
	}

	r = p.do(t, "acme-cy", "POST", "/api/v1/billing/setup", "")
	r = p.do(t, "acme-cy", "POST", "/api/v1/billing/setup/confirm",
		`{"setup_intent_id":"`+r.body["setup_intent_id"].(string)+`","card_number":"4000 0000 0000 0002"}`)
	errs, _ := r.body["errors"].([]any)
	if r.status != 422 || field(r) != "card_number" || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "generic_decline") {
		t.Fatalf("confirm 0002: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-cy", "POST", "/api/v1/billing/subscription", `{"plan":"pro","interval":"monthly"}`); r.status != 409 {
		t.Fatalf("subscribe without a saved card: %d %v", r.status, r.body)
	}
	if got := role("acme-cy"); got != actor.RoleUser {
		t.Fatalf("role after a declined card = %s", got)
	}
	if r := p.do(t, "acme-cy", "GET", "/api/v1/billing/subscription", ""); r.status != 200 || r.body["plan"] != "free" || r.body["subscription"] != nil {
		t.Fatalf("get_subscription after a decline: %d %v", r.status, r.body)
	}

	r = p.do(t, "acme-cy", "POST", "/api/v1/billing/subscription", `{"plan":"gold","interval":"monthly"}`)
	errs, _ = r.body["errors"].([]any)
	if r.status != 422 || field(r) != "plan" || !strings.Contains(errs[0].(map[string]any)["message"].(string), "valid plans: pro, enterprise") {
		t.Fatalf("unknown plan: %d %v", r.status, r.body)
	}

	p.audit.Flush()
	recs, err := pt.Store.QueryAudit(ctx, audit.Filter{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	confirms := 0
	for _, rec := range recs {
		if rec.Action == "confirm_payment_setup" {
			confirms++
			if strings.Contains(string(rec.Input), "4242") || strings.Contains(string(rec.Input), "0002") {
				t.Fatalf("a card number reached the audit log: %s", rec.Input)
			}
		}
	}
	if confirms != 2 {
		t.Fatalf("%d confirm_payment_setup records, want 2", confirms)
	}
}
