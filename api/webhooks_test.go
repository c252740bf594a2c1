package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

// TestStripeWebhooksOverHTTP: the real router takes a signed event once
// (a replay is answered 200 and changes nothing), refuses a forged or
// stale one with 400 problem JSON, answers 503 without a secret, 413 for
// a body over 1 MiB, and audits each.
func TestStripeWebhooksOverHTTP(t *testing.T) {
	pt := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pt.Store, Tools: pt.Registry, Auth: pt.Tokens, Webhooks: pt.Billing}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pt.Store, params: pt.Params, audit: pt.Audit}
	ctx := context.Background()
	const secret = "whsec_http_test"
	if _, err := pt.Params.Set(ctx, platformtest.Operator, params.SetRequest{Scope: params.Scope{Mode: mode.Sandbox},
		Key: "stripe.webhook_secret", Value: secret, Confirm: "global"}); err != nil {
		t.Fatal(err)
	}
	event := func(id string, livemode bool) string {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": "invoice.paid", "livemode": livemode,
			"api_version": "2023-10-16", "data": map[string]any{"object": map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_1"}}})
		return string(b)
	}
	sign := func(body, secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
	}
	good := event("evt_http_1", false)
	cases := []struct {
		name   string
		path   string
		body   string
		sig    string
		status int
		check  func(t *testing.T, r reply)
	}{
		{"a signed event is accepted", "/webhooks/stripe", good, sign(good, secret, time.Now()), 200, func(t *testing.T, r reply) {
			if r.body["id"] != "evt_http_1" || r.body["replayed"] != false {
				t.Fatalf("body = %v", r.body)
			}
		}},
		{"the same event again is a replay that changes nothing", "/webhooks/stripe", good, sign(good, secret, time.Now()), 200, func(t *testing.T, r reply) {
			if r.body["replayed"] != true {
				t.Fatalf("body = %v", r.body)
			}
		}},
		{"an event signed with another secret is forged", "/webhooks/stripe", event("evt_forged", false), sign(event("evt_forged", false), "whsec_forger", time.Now()), 400, nil},
		{"a signature over another payload is forged", "/webhooks/stripe", event("evt_swapped", false), sign(good, secret, time.Now()), 400, nil},
		{"a signature from ten minutes ago is stale", "/webhooks/stripe", event("evt_stale", false), sign(event("evt_stale", false), secret, time.Now().Add(-10*time.Minute)), 400, nil},
		{"a LIVE event without a LIVE secret is unavailable", "/webhooks/stripe", event("evt_live", true), sign(event("evt_live", true), secret, time.Now()), 503, nil},
		{"a tenant without a secret of its own is unavailable", "/webhooks/stripe/acme", event("evt_acme", false), sign(event("evt_acme", false), secret, time.Now()), 503, nil},
		{"a body over 1 MiB is refused", "/webhooks/stripe", `{"id":"` + strings.Repeat("x", api.MaxWebhookBody) + `"}`, "t=1,v1=00", 413, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.do(t, "", "POST", c.path, c.body, "Stripe-Signature", c.sig)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %v", r.status, c.status, r.body)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
	n, err := pt.Store.UnprocessedProcessorEvents(ctx, 10)
	if err != nil || len(n) != 1 || n[0].ID != "evt_http_1" {
		t.Fatalf("stored events = %+v, %v", n, err)
	}
	recs, err := pt.Store.QueryAudit(ctx, audit.Filter{Action: "billing.webhook"})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, r := range recs {
		var in struct {
			Outcome string `json:"outcome"`
		}
		_ = json.Unmarshal(r.Input, &in)
		outcomes[in.Outcome]++
	}
	if outcomes["accepted"] != 1 || outcomes["replayed"] != 1 || outcomes["forged"] != 2 || outcomes["stale"] != 1 {
		t.Fatalf("audited outcomes = %v", outcomes)
	}
}
