package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/stripetest"
)

var clientSecret = regexp.MustCompile(`data-client-secret="([^"]+)"`)

// TestWithAStripeKeyThePaymentPageMountsStripeElements: a tenant served
// by Stripe (test keys, on stripe-mock) with a publishable key gets the
// Payment Element instead of the test-card form: Stripe.js and the page's
// script load, the form carries the publishable key, the SetupIntent's
// client secret and id and the CSRF token, and no card field of ours.
// Only this page widens the policy to Stripe's origins; the others keep
// our origin's alone. A setup Stripe reports declined is shown over a
// fresh form, to try again; the setup Stripe.js confirmed saves its card
// as the default, read back from Stripe, and subscribes.
func TestWithAStripeKeyThePaymentPageMountsStripeElements(t *testing.T) {
	srv, p := serverOf(t)
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	api, read := stripeFront(t, p, "hal@example.com")
	for key, value := range map[string]string{"stripe.secret_key": "sk_test_web", "stripe.publishable_key": "pk_test_web", "stripe.api_url": api} {
		if _, err := p.Params.Set(context.Background(), actor.System("test"), params.SetRequest{Scope: sc, Key: key, Value: value, Confirm: sc.Target()}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	c, hal := signedUp(t, srv.URL, p, "hal@example.com")
	resp, err := c.Get(srv.URL + "/billing/pay?plan=pro")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, body, token := page(t, c, srv.URL, "/billing/pay?plan=pro")
	if status != http.StatusOK {
		t.Fatalf("the payment page: %d\n%s", status, body)
	}
	for _, want := range []string{`<script src="https://js.stripe.com/v3"></script>`, `<script type="module" src="/static/pay.js"></script>`,
		`id="payment-element"`, `data-stripe-key="pk_test_web"`, `id="payment-error" role="alert" hidden`, `name="plan" value="pro"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the payment page lacks %s", want)
		}
	}
	secret := clientSecret.FindStringSubmatch(body)
	setup := setupInput.FindStringSubmatch(body)
	if secret == nil || !strings.Contains(secret[1], "_secret_") || setup == nil || setup[1] == "" || token == "" {
		t.Errorf("the form lacks the client secret, the setup's id or the token: %v %v %q", secret, setup, token)
	}
	if strings.Contains(body, `name="card_number"`) || strings.Contains(body, "4242 4242") {
		t.Error("a Stripe tenant's page takes a card number itself")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self' https://js.stripe.com;", "frame-src https://js.stripe.com https://hooks.stripe.com;",
		"connect-src 'self' https://api.stripe.com;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("the payment page's policy %q lacks %s", csp, want)
		}
	}
	for _, path := range []string{"/", "/billing", "/plans", "/static/pay.js"} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "stripe") || !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("%s: policy %q", path, csp)
		}
	}

	resp2, body := post(t, c, srv.URL, "/billing/pay", url.Values{"csrf": {token}, "setup_intent_id": {"seti_declined"}, "plan": {"pro"}, "interval": {"monthly"}})
	if resp2.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `role="alert">the payment method was declined`) || !strings.Contains(body, "requires_payment_method") ||
		!strings.Contains(body, `id="payment-element"`) || !strings.Contains(resp2.Header.Get("Content-Security-Policy"), "https://js.stripe.com") {
		t.Fatalf("a declined setup: %d\n%s", resp2.StatusCode, body)
	}
	resp2, body = post(t, c, srv.URL, "/billing/pay", url.Values{"csrf": {token}, "setup_intent_id": {setup[1]}, "plan": {"pro"}, "interval": {"monthly"}})
	// On Stripe the subscription waits for its first payment's webhook:
	// the page says so rather than that the plan is on.
	if resp2.StatusCode != http.StatusOK || !strings.Contains(body, "Your pro plan is on its way") || !strings.Contains(body, "until the first payment is confirmed") {
		t.Fatalf("paying with the setup Stripe.js confirmed: %d\n%s", resp2.StatusCode, body)
	}
	if got := read(); len(got) != 2 || got[1] != setup[1] {
		t.Fatalf("setup intents read back %v, want the declined one then the page's %s", got, setup[1])
	}
	pm, err := p.Store.DefaultPaymentMethod(context.Background(), "acme", hal.ID, mode.Sandbox)
	if err != nil || pm.ID != "pm_web" || pm.Brand != "visa" || pm.Last4 != "4242" || pm.Backend != billing.BackendStripe {
		t.Fatalf("default payment method = %+v, %v", pm, err)
	}
}

// stripeFront stands before stripe-mock, which answers one fixture to any
// read whatever the id: its SetupIntent has no customer and has not
// succeeded, and its prices no lookup key. Those two reads are answered
// with recorded responses shaped like Stripe's API documentation
// (2023-10-16, stripe-go v76): the SetupIntent the browser confirmed, of
// the customer the platform made for the person of email (seti_declined
// is one whose card was declined), and the PRO monthly price. It answers the front's URL and the SetupIntents read.
func stripeFront(t *testing.T, p *platformtest.Platform, email string) (string, func() []string) {
	t.Helper()
	mock, err := url.Parse(stripetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var read []string
	proxy := httputil.NewSingleHostReverseProxy(mock)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var answer any
		switch id, isSetup := strings.CutPrefix(r.URL.Path, "/v1/setup_intents/"); {
		case r.Method == http.MethodGet && isSetup:
			mu.Lock()
			read = append(read, id)
			mu.Unlock()
			u, err := p.Store.UserByEmail(r.Context(), email)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			c, err := p.Store.BillingCustomer(r.Context(), u.TenantID, u.ID, mode.Sandbox)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			si := map[string]any{"id": id, "object": "setup_intent", "customer": c.ID, "status": "succeeded", "usage": "off_session",
				"payment_method": map[string]any{"id": "pm_web", "object": "payment_method", "type": "card",
					"card": map[string]any{"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}}}
			if id == "seti_declined" {
				si["status"], si["payment_method"] = "requires_payment_method", nil
				si["last_setup_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
			}
			answer = si
		case r.Method == http.MethodGet && r.URL.Path == "/v1/prices":
			answer = map[string]any{"object": "list", "url": "/v1/prices", "has_more": false, "data": []any{map[string]any{
				"id": "price_pro_monthly", "object": "price", "lookup_key": "gpubroker_pro_monthly", "product": "gpubroker_pro",
				"unit_amount": 2900, "currency": "usd", "active": true, "recurring": map[string]any{"interval": "month", "interval_count": 1}}}}
		default:
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(front.Close)
	return front.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), read...)
	}
}

// TestTheMockPaymentPageLoadsNothingFromStripe: a SANDBOX tenant without
// Stripe keys keeps the test-card form and our origin's policy.
func TestTheMockPaymentPageLoadsNothingFromStripe(t *testing.T) {
	srv, p := serverOf(t)
	c, _ := signedUp(t, srv.URL, p, "ida@example.com")
	resp, err := c.Get(srv.URL + "/billing/pay?plan=pro")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body, _ := page(t, c, srv.URL, "/billing/pay?plan=pro")
	if strings.Contains(body, "js.stripe.com") || strings.Contains(body, "pay.js") || !strings.Contains(body, `name="card_number"`) {
		t.Errorf("the mock payment page:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "stripe") {
		t.Errorf("the mock payment page's policy %q", csp)
	}
}
