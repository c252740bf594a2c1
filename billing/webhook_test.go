package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/stripetest"
)

const testSecret = "whsec_test_global"

var eventSeq atomic.Int64

// stripeEvent is a Stripe event of typ about obj, as Stripe posts it.
func stripeEvent(t testing.TB, id, typ string, livemode bool, obj any) []byte {
	t.Helper()
	if id == "" {
		id = fmt.Sprintf("evt_test_%d", eventSeq.Add(1))
	}
	b, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "livemode": livemode, "api_version": "2020-08-27",
		"created": time.Now().Unix(), "data": map[string]any{"object": obj}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign signs payload with secret at ts, as Stripe does.
func sign(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

// webhookFixture is billing with the global SANDBOX webhook secret set.
func webhookFixture(t testing.TB, backend string) *fixture {
	f := newFixture(t, backend)
	f.set(t, params.Scope{Mode: mode.Sandbox}, "stripe.webhook_secret", testSecret)
	return f
}

// deliver receives a signed event and processes it as the worker would,
// answering the stored event.
func (f *fixture) deliver(t *testing.T, typ string, obj any) billing.ProcessorEvent {
	t.Helper()
	return f.deliverTo(t, "", typ, obj)
}

func (f *fixture) deliverTo(t *testing.T, endpoint, typ string, obj any) billing.ProcessorEvent {
	t.Helper()
	ctx := context.Background()
	payload := stripeEvent(t, "", typ, false, obj)
	rc, err := f.svc.ReceiveStripe(ctx, billing.Delivery{Tenant: endpoint, Payload: payload, Signature: sign(payload, testSecret, time.Now())})
	if err != nil || rc.Replayed {
		t.Fatalf("receive %s: %+v, %v", typ, rc, err)
	}
	if err := f.svc.ProcessEvent(ctx, rc.ID); err != nil {
		t.Fatalf("process %s: %v", typ, err)
	}
	pe, err := f.st.ProcessorEvent(ctx, rc.ID)
	if err != nil || pe.ProcessedAt == nil {
		t.Fatalf("event %s after processing = %+v, %v", rc.ID, pe, err)
	}
	return pe
}

func TestReceivingAnEventStoresItOnceWithItsOutboxEvent(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := webhookFixture(t, backend)
			ctx := context.Background()
			nudged := 0
			f.svc.OnCommit(func() { nudged++ })
			payload := stripeEvent(t, "evt_once", "customer.created", false, map[string]any{"id": "cus_1", "object": "customer"})
			d := billing.Delivery{Payload: payload, Signature: sign(payload, testSecret, time.Now()), Addr: "192.0.2.1"}
			rc, err := f.svc.ReceiveStripe(ctx, d)
			if err != nil || rc.Replayed || rc.ID != "evt_once" || rc.Type != "customer.created" || nudged != 1 {
				t.Fatalf("first delivery = %+v, %v (nudged %d)", rc, err, nudged)
			}
			rc, err = f.svc.ReceiveStripe(ctx, d)
			if err != nil || !rc.Replayed || nudged != 1 {
				t.Fatalf("replayed delivery = %+v, %v (nudged %d)", rc, err, nudged)
			}
			pending, err := f.st.PendingEvents(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range pending {
				if e.Type == billing.EventProcessorEvent {
					n++
					if string(e.Payload) != `{"id":"evt_once"}` || e.Key != "cus_1" {
						t.Fatalf("outbox event = %+v", e)
					}
				}
			}
			if n != 1 {
				t.Fatalf("%d outbox events for one event delivered twice", n)
			}
			recs, err := f.st.QueryAudit(ctx, audit.Filter{Action: "billing.webhook"})
			if err != nil || len(recs) != 2 || recs[0].Actor.Kind != actor.KindProcessor {
				t.Fatalf("audit = %+v, %v", recs, err)
			}
		})
	}
}

func TestForgedStaleAndUnconfiguredDeliveriesAreRefused(t *testing.T) {
	f := webhookFixture(t, "sqlite")
	ctx := context.Background()
	payload := stripeEvent(t, "evt_bad", "invoice.paid", false, map[string]any{"id": "in_1"})
	cases := []struct {
		name     string
		d        billing.Delivery
		kind     fault.Kind
		endpoint string
	}{
		{"a payload signed with another secret is forged", billing.Delivery{Payload: payload, Signature: sign(payload, "whsec_other", time.Now())}, fault.KindMalformed, ""},
		{"a delivery without a signature is refused", billing.Delivery{Payload: payload}, fault.KindMalformed, ""},
		{"a signature older than five minutes is stale", billing.Delivery{Payload: payload, Signature: sign(payload, testSecret, time.Now().Add(-6*time.Minute))}, fault.KindMalformed, ""},
		{"a LIVE event without a LIVE secret is unavailable", billing.Delivery{Payload: stripeEvent(t, "evt_live", "invoice.paid", true, map[string]any{}),
			Signature: sign(payload, testSecret, time.Now())}, fault.KindUnavailable, ""},
		{"a tenant without its own secret is unavailable", billing.Delivery{Tenant: "acme", Payload: payload, Signature: sign(payload, testSecret, time.Now())}, fault.KindUnavailable, "acme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.ReceiveStripe(ctx, c.d)
			wantKind(t, err, c.kind)
		})
	}
	if _, err := f.st.ProcessorEvent(ctx, "evt_bad"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("a refused event was stored: %v", err)
	}
	recs, err := f.st.QueryAudit(ctx, audit.Filter{Action: "billing.webhook"})
	if err != nil || len(recs) != 3 || recs[0].Verdict != "deny" {
		t.Fatalf("refusals audited = %+v, %v", recs, err)
	}

	f.set(t, params.Scope{TenantID: "acme", Mode: mode.Sandbox}, "stripe.webhook_secret", "whsec_acme_own")
	if _, err := f.svc.ReceiveStripe(ctx, billing.Delivery{Tenant: "acme", Payload: payload, Signature: sign(payload, testSecret, time.Now())}); fault.KindOf(err) != fault.KindMalformed {
		t.Fatalf("the global secret on acme's own endpoint: %v", err)
	}
	if rc, err := f.svc.ReceiveStripe(ctx, billing.Delivery{Tenant: "acme", Payload: payload, Signature: sign(payload, "whsec_acme_own", time.Now())}); err != nil || rc.Replayed {
		t.Fatalf("acme's own secret on its endpoint: %+v, %v", rc, err)
	}
}

func wantKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if fault.KindOf(err) != k {
		t.Fatalf("error = %v, want %s", err, k)
	}
}

func TestASucceededSetupIntentSavesTheDefaultPaymentMethod(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := webhookFixture(t, backend)
			ctx := context.Background()
			setup, err := f.svc.StartSetup(ctx, f.sandbox, "ana")
			if err != nil {
				t.Fatal(err)
			}
			// The card is confirmed at the processor alone, as Stripe.js
			// would: only the webhook tells the platform.
			acct, _ := f.mock.Account(f.sandbox)
			pm, err := acct.ConfirmSetup(ctx, setup.Customer, setup.SetupIntent, "5555 5555 5555 4444")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox); fault.KindOf(err) != fault.KindNotFound {
				t.Fatalf("default before the webhook: %v", err)
			}
			pe := f.deliver(t, "setup_intent.succeeded", map[string]any{"id": setup.SetupIntent, "object": "setup_intent",
				"customer": setup.Customer, "payment_method": pm.ID, "status": "succeeded"})
			got, err := f.st.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox)
			if err != nil || got.ID != pm.ID || got.Brand != "mastercard" || got.Last4 != "4444" || got.Backend != billing.BackendMock ||
				pe.Outcome != billing.OutcomeApplied || pe.TenantID != "acme" || pe.UserID != "ana" {
				t.Fatalf("default = %+v, %v; event %+v", got, err, pe)
			}
		})
	}
}

// stripeSub is a subscription as Stripe sends it.
func stripeSub(id, customer, status, lookupKey string, start time.Time) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": customer, "status": status,
		"current_period_start": start.Unix(), "current_period_end": start.AddDate(0, 1, 0).Unix(), "cancel_at_period_end": false,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "object": "subscription_item",
			"price": map[string]any{"id": "price_" + lookupKey, "object": "price", "lookup_key": lookupKey}}}}}
}

func stripeInvoice(id, customer, sub, reason string) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "subscription": sub, "billing_reason": reason,
		"status": "open", "currency": "usd", "amount_due": 2900}
}

// paidInvoice is stripeInvoice paid.
func paidInvoice(id, customer, sub, reason string) map[string]any {
	inv := stripeInvoice(id, customer, sub, reason)
	inv["status"], inv["amount_paid"] = "paid", 2900
	return inv
}

func TestStripeEventsMoveASubscriptionAndTheRoleOnlyWhenPaid(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := webhookFixture(t, backend)
			ctx := context.Background()
			now := f.clock.Now()
			// ana subscribed through Stripe: a customer and an incomplete
			// subscription, as Subscribe records them.
			if err := f.st.PutBillingCustomer(ctx, billing.Customer{TenantID: "acme", UserID: "ana", Mode: mode.Sandbox,
				Backend: billing.BackendStripe, Account: "stripe::x", ID: "cus_ana", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := f.st.CreateSubscription(ctx, billing.Subscription{ID: "bsub_ana", TenantID: "acme", UserID: "ana", Mode: mode.Sandbox,
				Backend: billing.BackendStripe, Plan: billing.Pro, Interval: billing.Monthly, Status: billing.Incomplete,
				BackendID: "sub_ana", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			sub := func() billing.Subscription {
				t.Helper()
				s, err := f.st.Subscription(ctx, "acme", "bsub_ana")
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			pro := billing.LookupKey(billing.Pro, billing.Monthly)

			f.deliver(t, "customer.subscription.created", stripeSub("sub_ana", "cus_ana", "incomplete", pro, now))
			if s := sub(); s.Status != billing.Incomplete || s.PeriodEnd == nil || f.role(t, "ana") != actor.RoleUser {
				t.Fatalf("created, unpaid: %+v, role %s", s, f.role(t, "ana"))
			}

			pe := f.deliver(t, "invoice.paid", paidInvoice("in_1", "cus_ana", "sub_ana", "subscription_create"))
			if s := sub(); s.Status != billing.Active || f.role(t, "ana") != actor.RoleProUser || pe.Outcome != billing.OutcomeApplied {
				t.Fatalf("first invoice paid: %+v, role %s, event %+v", s, f.role(t, "ana"), pe)
			}

			// A change waits for its payment; Stripe confirms it by moving
			// the subscription to the new price.
			s := sub()
			s.PendingPlan, s.PendingInterval = billing.Enterprise, billing.Annual
			pending, err := f.st.UpdateSubscription(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			// An update that says what we know already leaves the
			// revision alone: the change waiting on it writes next.
			f.deliver(t, "customer.subscription.updated", stripeSub("sub_ana", "cus_ana", "active", pro, now))
			if s := sub(); s.Plan != billing.Pro || s.PendingPlan != billing.Enterprise || f.role(t, "ana") != actor.RoleProUser || s.Revision != pending.Revision {
				t.Fatalf("an update before the change was paid applied it: %+v", s)
			}
			f.deliver(t, "customer.subscription.updated", stripeSub("sub_ana", "cus_ana", "active",
				billing.LookupKey(billing.Enterprise, billing.Annual), now))
			if s := sub(); s.Plan != billing.Enterprise || s.Interval != billing.Annual || s.PendingPlan != "" || f.role(t, "ana") != actor.RoleEnterpriseUser {
				t.Fatalf("change confirmed: %+v, role %s", s, f.role(t, "ana"))
			}

			f.deliver(t, "invoice.payment_failed", stripeInvoice("in_2", "cus_ana", "sub_ana", "subscription_cycle"))
			if s := sub(); s.Status != billing.PastDue || s.Dunning == nil || s.Dunning.Invoice != "in_2" ||
				s.Dunning.Amount != money.MustParse("29") || f.role(t, "ana") != actor.RoleEnterpriseUser {
				t.Fatalf("renewal failed: %+v, role %s; want past due with its retries scheduled", s, f.role(t, "ana"))
			}
			f.deliver(t, "invoice.paid", paidInvoice("in_2", "cus_ana", "sub_ana", "subscription_cycle"))
			if s := sub(); s.Status != billing.Active || s.Dunning != nil {
				t.Fatalf("renewal paid on retry: %+v", s)
			}

			f.deliver(t, "customer.subscription.deleted", stripeSub("sub_ana", "cus_ana", "canceled", billing.LookupKey(billing.Enterprise, billing.Annual), now))
			if s := sub(); s.Status != billing.Canceled || f.role(t, "ana") != actor.RoleUser {
				t.Fatalf("deleted: %+v, role %s", s, f.role(t, "ana"))
			}
			pe = f.deliver(t, "customer.subscription.updated", stripeSub("sub_ana", "cus_ana", "active", pro, now))
			if s := sub(); s.Status != billing.Canceled || f.role(t, "ana") != actor.RoleUser || pe.Outcome != billing.OutcomeIgnored {
				t.Fatalf("a late update revived a canceled subscription: %+v, event %+v", s, pe)
			}

			recs, err := f.st.QueryAudit(ctx, audit.Filter{Action: "billing.processor_event", TenantID: "acme"})
			if err != nil || len(recs) != 8 || recs[0].Actor.Kind != actor.KindProcessor || recs[0].Actor.ID != "stripe" {
				t.Fatalf("processed events audited: %d, %v", len(recs), err)
			}
		})
	}
}

func TestAFailedFirstPaymentChangesNothingAndAFailedChangeIsGivenUp(t *testing.T) {
	f := webhookFixture(t, "sqlite")
	ctx := context.Background()
	now := f.clock.Now()
	if err := f.st.PutBillingCustomer(ctx, billing.Customer{TenantID: "acme", UserID: "bo", Mode: mode.Sandbox,
		Backend: billing.BackendStripe, Account: "stripe::x", ID: "cus_bo", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateSubscription(ctx, billing.Subscription{ID: "bsub_bo", TenantID: "acme", UserID: "bo", Mode: mode.Sandbox,
		Backend: billing.BackendStripe, Plan: billing.Pro, Interval: billing.Monthly, Status: billing.Incomplete,
		BackendID: "sub_bo", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	pe := f.deliver(t, "invoice.payment_failed", stripeInvoice("in_b1", "cus_bo", "sub_bo", "subscription_create"))
	s, _ := f.st.Subscription(ctx, "acme", "bsub_bo")
	if s.Status != billing.Incomplete || f.role(t, "bo") != actor.RoleUser || pe.Outcome != billing.OutcomeIgnored {
		t.Fatalf("first payment failed: %+v, event %+v", s, pe)
	}
	f.deliver(t, "invoice.paid", paidInvoice("in_b1", "cus_bo", "sub_bo", "subscription_create"))
	s, _ = f.st.Subscription(ctx, "acme", "bsub_bo")
	s.PendingPlan, s.PendingInterval = billing.Enterprise, billing.Monthly
	if _, err := f.st.UpdateSubscription(ctx, s); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, "invoice.payment_failed", stripeInvoice("in_b2", "cus_bo", "sub_bo", "subscription_update"))
	s, _ = f.st.Subscription(ctx, "acme", "bsub_bo")
	if s.Status != billing.Active || s.Plan != billing.Pro || s.PendingPlan != "" || f.role(t, "bo") != actor.RoleProUser {
		t.Fatalf("a change whose payment failed: %+v, role %s", s, f.role(t, "bo"))
	}
}

func TestCreditsBoughtAndRefundedArePostedOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := webhookFixture(t, backend)
			ctx := context.Background()
			pi := map[string]any{"id": "pi_c1", "object": "payment_intent", "amount": 2500, "amount_received": 2500, "currency": "usd",
				"metadata": map[string]string{"gpubroker_purpose": "credits", "gpubroker_tenant": "acme", "gpubroker_user": "ana"}}
			balance := func() money.Amount {
				t.Helper()
				b, err := f.st.Balance(ctx, "acme", "ana")
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			f.deliver(t, "payment_intent.succeeded", pi)
			f.deliver(t, "payment_intent.succeeded", pi) // Stripe sent it twice, under two event ids
			if got := balance(); got != 25*money.Dollar {
				t.Fatalf("balance after buying 25.00 = %s", got.Decimal())
			}
			other := map[string]any{"id": "pi_o1", "object": "payment_intent", "amount": 900, "currency": "usd", "metadata": map[string]string{}}
			if pe := f.deliver(t, "payment_intent.succeeded", other); pe.Outcome != billing.OutcomeIgnored {
				t.Fatalf("a payment for something else: %+v", pe)
			}

			charge := func(refunded int) map[string]any {
				return map[string]any{"id": "ch_c1", "object": "charge", "payment_intent": "pi_c1", "amount": 2500,
					"amount_refunded": refunded, "currency": "usd", "refunded": refunded == 2500}
			}
			f.deliver(t, "charge.refunded", charge(1000))
			if got := balance(); got != 15*money.Dollar {
				t.Fatalf("balance after refunding 10.00 = %s", got.Decimal())
			}
			f.deliver(t, "charge.refunded", charge(2500))
			f.deliver(t, "charge.refunded", charge(1000)) // late
			if got := balance(); got != 0 {
				t.Fatalf("balance after refunding it all = %s", got.Decimal())
			}
			entries, err := f.st.Entries(ctx, "acme", "ana", 10)
			if err != nil || len(entries) != 3 || entries[0].Kind != billing.KindRefund || entries[0].Amount != -15*money.Dollar {
				t.Fatalf("entries = %+v, %v", entries, err)
			}
		})
	}
}

func TestEventsOfNoOneAnotherTenantOrTheOtherModeAreRecordedWithoutEffect(t *testing.T) {
	f := webhookFixture(t, "sqlite")
	ctx := context.Background()
	if pe := f.deliver(t, "customer.tax_id.created", map[string]any{"id": "txi_1"}); pe.Outcome != billing.OutcomeIgnored || pe.Error == "" {
		t.Fatalf("an unknown type: %+v", pe)
	}
	if pe := f.deliver(t, "invoice.paid", paidInvoice("in_x", "cus_nobody", "sub_x", "subscription_create")); pe.Outcome != billing.OutcomeFailed {
		t.Fatalf("an invoice of an unknown customer: %+v", pe)
	}
	f.set(t, params.Scope{TenantID: "beta", Mode: mode.Sandbox}, "stripe.webhook_secret", testSecret)
	pi := map[string]any{"id": "pi_b1", "object": "payment_intent", "amount": 100, "currency": "usd",
		"metadata": map[string]string{"gpubroker_purpose": "credits", "gpubroker_tenant": "acme", "gpubroker_user": "ana"}}
	if pe := f.deliverTo(t, "beta", "payment_intent.succeeded", pi); pe.Outcome != billing.OutcomeFailed {
		t.Fatalf("beta's endpoint crediting acme: %+v", pe)
	}
	if b, _ := f.st.Balance(ctx, "acme", "ana"); b != 0 {
		t.Fatalf("balance = %s", b.Decimal())
	}
	// beta is LIVE: a test-mode event, which anyone with a test key can
	// make, credits nothing there.
	live := map[string]any{"id": "pi_l1", "object": "payment_intent", "amount": 100, "currency": "usd",
		"metadata": map[string]string{"gpubroker_purpose": "credits", "gpubroker_tenant": "beta", "gpubroker_user": "bo"}}
	if pe := f.deliver(t, "payment_intent.succeeded", live); pe.Outcome != billing.OutcomeFailed {
		t.Fatalf("a test-mode event crediting a LIVE tenant: %+v", pe)
	}
	if b, _ := f.st.Balance(ctx, "beta", "bo"); b != 0 {
		t.Fatalf("beta balance = %s", b.Decimal())
	}
}

// BenchmarkReceiveStripe is what the endpoint does before it answers
// Stripe, per backend: verify the signature, store the event and enqueue
// its outbox event in one transaction, and audit the delivery (p50 and
// p99 of one delivery).
func BenchmarkReceiveStripe(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			f := webhookFixture(b, backend)
			ctx := context.Background()
			obj := map[string]any{"id": "in_bench", "object": "invoice", "customer": "cus_bench", "subscription": "sub_bench",
				"billing_reason": "subscription_cycle", "amount_paid": 2900, "currency": "usd"}
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				payload := stripeEvent(b, "", "invoice.paid", false, obj)
				sig := sign(payload, testSecret, time.Now())
				b.StartTimer()
				start := time.Now()
				if _, err := f.svc.ReceiveStripe(ctx, billing.Delivery{Payload: payload, Signature: sig, Addr: "192.0.2.1"}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// TestWithStripeThePlanChangesWhenItsWebhookSaysPaid drives the Stripe
// backend (on stripe-mock) end to end: a subscription is made
// incomplete and the role unchanged until invoice.paid arrives; a change
// of plan waits, and its payment's webhook arriving while the change call
// is still under way applies it without failing the call.
func TestWithStripeThePlanChangesWhenItsWebhookSaysPaid(t *testing.T) {
	f := webhookFixture(t, "sqlite")
	ctx := context.Background()
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	f.set(t, sc, "stripe.secret_key", "sk_test_acme")
	f.set(t, sc, "stripe.api_url", stripetest.URL(t))
	// stripe-mock keeps no lookup keys: the plans' prices are answered
	// here, as Stripe answers them once sync-plans made them.
	prices := `{"object":"list","url":"/v1/prices","has_more":false,"data":[
		{"id":"price_pro_m","object":"price","active":true,"lookup_key":"gpubroker_pro_monthly","unit_amount":2900,"currency":"usd","recurring":{"interval":"month"}},
		{"id":"price_ent_a","object":"price","active":true,"lookup_key":"gpubroker_enterprise_annual","unit_amount":199000,"currency":"usd","recurring":{"interval":"year"}}]}`
	var duringChange func()
	f.rec.answer = func(r *http.Request, n int) (*http.Response, error, bool) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/prices":
			return stripeError(r, 200, prices), nil, true
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/subscriptions/") && duringChange != nil:
			duringChange()
		}
		return nil, nil, false
	}
	got, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly)
	if err != nil || got.Subscription.Status != billing.Incomplete || got.Role != actor.RoleUser || got.Subscription.BackendID == "" {
		t.Fatalf("subscribe with Stripe = %+v, %v", got, err)
	}
	c, err := f.st.BillingCustomer(ctx, "acme", "ana", mode.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	subID := got.Subscription.BackendID
	f.deliver(t, "invoice.paid", paidInvoice("in_first", c.ID, subID, "subscription_create"))
	acct, err := f.svc.Account(ctx, f.sandbox, "ana")
	if err != nil || acct.Plan != billing.Pro || acct.Subscription.Status != billing.Active || f.role(t, "ana") != actor.RoleProUser {
		t.Fatalf("after invoice.paid: %+v, %v, role %s", acct, err, f.role(t, "ana"))
	}

	duringChange = func() {
		duringChange = nil
		f.deliver(t, "invoice.paid", paidInvoice("in_change", c.ID, subID, "subscription_update"))
	}
	changed, err := f.svc.ChangePlan(ctx, f.sandbox, "ana", billing.Enterprise, billing.Annual)
	if err != nil || changed.Subscription.Plan != billing.Enterprise || changed.Subscription.PendingPlan != "" || changed.Role != actor.RoleEnterpriseUser {
		t.Fatalf("change paid while it was under way = %+v, %v", changed, err)
	}
	if f.role(t, "ana") != actor.RoleEnterpriseUser {
		t.Fatalf("role %s", f.role(t, "ana"))
	}
}
