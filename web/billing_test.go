package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// signedUp registers email on srv (confirmed at once in SANDBOX) and
// answers the browser signed in, and who it is for the tools.
func signedUp(t *testing.T, srv string, p *platformtest.Platform, email string) (*http.Client, actor.Actor) {
	t.Helper()
	c := browserClient(t)
	_, _, token := page(t, c, srv, "/register")
	if resp, body := post(t, c, srv, "/register", url.Values{"csrf": {token}, "name": {"Ed"}, "email": {email},
		"password": {"quiet-harbor-lantern-42"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("registering: %d\n%s", resp.StatusCode, body)
	}
	u, err := p.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c, actor.Actor{Kind: actor.KindUser, ID: u.ID, TenantID: u.TenantID, Role: u.Role}
}

// TestTheBillingPageShowsAMonthsCostsCreditPlanAndInvoices: a visitor is
// sent to sign in first; a signed-in person sees the month chosen (the
// current one by default) with its charts' data and tables, their credit
// with the form to buy more, their plan with the way to pay for one, and
// their invoices; the navigation marks the page.
func TestTheBillingPageShowsAMonthsCostsCreditPlanAndInvoices(t *testing.T) {
	srv, p := serverOf(t)
	anon := browserClient(t)
	resp, err := anon.Get(srv.URL + "/billing?period=2025-01")
	if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next="+url.QueryEscape("/billing?period=2025-01") {
		t.Fatalf("a visitor on the billing page: %v %v", resp, err)
	}
	c, _ := signedUp(t, srv.URL, p, "ed@example.com")
	now := p.Clock.Now().UTC().Format("2006-01")
	status, body, _ := page(t, c, srv.URL, "/billing")
	if status != http.StatusOK {
		t.Fatalf("the billing page: %d\n%s", status, body)
	}
	for _, want := range []string{`href="/billing" aria-current="page"`, `<select id="period" name="period">`, `<option value="` + now + `" selected>`,
		`id="cost-by-day"`, `id="cost-by-pod"`, `<script type="application/json" id="cost-data">{`, `src="/static/billing.js"`,
		`action="/billing/credits"`, `<label for="amount">`, `id="plan"`, `href="/billing/pay?plan=pro"`, `id="invoices-title"`, `No invoices yet`} {
		if !strings.Contains(body, want) {
			t.Errorf("the billing page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("the billing page has an inline script")
	}
	_, body, _ = page(t, c, srv.URL, "/billing?period=2024-02")
	if !strings.Contains(body, `<option value="2024-02" selected>February 2024</option>`) || !strings.Contains(body, "Costs in February 2024") {
		t.Error("an older month is not shown as chosen")
	}
}

// TestTheBillingPageRefusesWhatItCannotShow: a month that is not one is a
// 400 page saying what a month looks like, not a 500; buying credit
// without the page's token is refused, and a visitor is sent to sign in.
func TestTheBillingPageRefusesWhatItCannotShow(t *testing.T) {
	srv, p := serverOf(t)
	anon := browserClient(t)
	if resp, _ := post(t, anon, srv.URL, "/billing/credits", url.Values{"amount": {"50.00"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a visitor's purchase without a token: %d", resp.StatusCode)
	}
	c, _ := signedUp(t, srv.URL, p, "fi@example.com")
	for _, period := range []string{"2024-13", "last-month", "2024-1"} {
		status, body, _ := page(t, c, srv.URL, "/billing?period="+period)
		if status != http.StatusBadRequest || !strings.Contains(body, "want a month as 2006-01") {
			t.Errorf("period %s: %d\n%s", period, status, body)
		}
	}
	if resp, _ := post(t, c, srv.URL, "/billing/credits", url.Values{"amount": {"50.00"}, "csrf": {"not-the-token"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a purchase with a wrong token: %d", resp.StatusCode)
	}
}

// TestBuyingCreditShowsWhatWentWrongAndThenTheNewBalance: an amount that
// is not one, and a purchase without a saved payment method, are shown
// beside the form to try again; with a card saved, the purchase adds the
// credit and the page says so.
func TestBuyingCreditShowsWhatWentWrongAndThenTheNewBalance(t *testing.T) {
	srv, p := serverOf(t)
	c, who := signedUp(t, srv.URL, p, "gus@example.com")
	_, _, token := page(t, c, srv.URL, "/billing")
	resp, body := post(t, c, srv.URL, "/billing/credits", url.Values{"csrf": {token}, "amount": {"fifty"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="amount-error"`) || !strings.Contains(body, `value="fifty"`) {
		t.Fatalf("an amount that is not one: %d\n%s", resp.StatusCode, body)
	}
	resp, body = post(t, c, srv.URL, "/billing/credits", url.Values{"csrf": {token}, "amount": {"50.00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `class="alert" role="alert"`) || !strings.Contains(body, "payment method") {
		t.Fatalf("no saved payment method: %d\n%s", resp.StatusCode, body)
	}

	call := func(tool, input string) tools.Result {
		t.Helper()
		res := p.Registry.Call(context.Background(), tools.Request{Actor: who, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
		if res.Err != nil {
			t.Fatalf("%s: %v", tool, res.Err)
		}
		return res
	}
	id := call(tools.ToolStartPaymentSetup, `{}`).Output.(billing.Setup).SetupIntent
	call(tools.ToolConfirmPaymentSetup, `{"setup_intent_id":"`+id+`","card_number":"4242 4242 4242 4242"}`)
	resp, _ = post(t, c, srv.URL, "/billing/credits", url.Values{"csrf": {token}, "amount": {"$50.00"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/billing?bought=credited#credits" {
		t.Fatalf("buying credit: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body, _ = page(t, c, srv.URL, "/billing?bought=credited")
	if !strings.Contains(body, "The credit is added to your balance.") || !strings.Contains(body, "<strong>$50.00</strong> of credit") {
		t.Fatalf("after buying credit:\n%s", body)
	}
}
