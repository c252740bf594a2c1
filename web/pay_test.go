package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/stripetest"
)

var clientSecret = regexp.MustCompile(`data-client-secret="([^"]+)"`)

// TestWithAStripeKeyThePaymentPageMountsStripeElements: a tenant served
// by Stripe (test keys, on stripe-mock) with a publishable key gets the
// Payment Element instead of the test-card form: Stripe.js and the page's
// script load, the form carries the publishable key, the SetupIntent's
// client secret and id and the CSRF token, and no card field of ours.
// Only this page widens the policy to Stripe's origins; the others keep
// our origin's alone. A setup the server cannot confirm is shown over a
// fresh form, to try again.
func TestWithAStripeKeyThePaymentPageMountsStripeElements(t *testing.T) {
	srv, p := serverOf(t)
	api := stripetest.URL(t)
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	for key, value := range map[string]string{"stripe.secret_key": "sk_test_web", "stripe.publishable_key": "pk_test_web", "stripe.api_url": api} {
		if _, err := p.Params.Set(context.Background(), actor.System("test"), params.SetRequest{Scope: sc, Key: key, Value: value, Confirm: sc.Target()}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	c, _ := signedUp(t, srv.URL, p, "hal@example.com")
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

	resp2, body := post(t, c, srv.URL, "/billing/pay", url.Values{"csrf": {token}, "setup_intent_id": {setup[1]}, "plan": {"pro"}, "interval": {"monthly"}})
	if resp2.StatusCode == http.StatusOK {
		return // the setup was confirmed and the plan paid
	}
	if resp2.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="payment-error" role="alert">`) || !strings.Contains(body, `id="payment-element"`) ||
		!strings.Contains(resp2.Header.Get("Content-Security-Policy"), "https://js.stripe.com") {
		t.Fatalf("a setup not confirmed: %d\n%s", resp2.StatusCode, body)
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
