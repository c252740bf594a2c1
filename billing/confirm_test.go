package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/stripetest"
)

// stripeFixture is billing with acme served by Stripe (test keys, on
// stripe-mock) and the global SANDBOX webhook secret set; ana has started
// a payment setup, so she is a customer there.
func stripeFixture(t *testing.T, backend string) (*fixture, billing.Setup) {
	t.Helper()
	f := webhookFixture(t, backend)
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	f.set(t, sc, "stripe.secret_key", "sk_test_acme")
	f.set(t, sc, "stripe.api_url", stripetest.URL(t))
	f.set(t, sc, "stripe.max_network_retries", "0")
	setup, err := f.svc.StartSetup(context.Background(), f.sandbox, "ana")
	if err != nil || setup.Backend != billing.BackendStripe || setup.Customer == "" {
		t.Fatalf("start setup = %+v, %v", setup, err)
	}
	return f, setup
}

// recordedCard is a card payment method as Stripe's API (2023-10-16,
// stripe-go v76) documents it.
func recordedCard(id, brand, last4 string) map[string]any {
	return map[string]any{"id": id, "object": "payment_method", "type": "card", "livemode": false,
		"card": map[string]any{"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034, "funding": "credit", "country": "US"}}
}

// recordedSetup is a SetupIntent read back with its payment method
// expanded, as Stripe's API (2023-10-16) documents it. stripe-mock answers
// its one fixture to every read, whatever the id: status
// requires_payment_method and no customer, so it can never show a setup
// that succeeded for our customer; these answers stand in for Stripe's.
func recordedSetup(id, customer, status string, pm map[string]any, lastError map[string]any) map[string]any {
	si := map[string]any{"id": id, "object": "setup_intent", "customer": customer, "status": status, "usage": "off_session",
		"payment_method_types": []string{"card", "sepa_debit", "us_bank_account"}, "livemode": false, "payment_method": nil,
		"last_setup_error": nil}
	if pm != nil {
		si["payment_method"] = pm
	}
	if lastError != nil {
		si["last_setup_error"] = lastError
	}
	return si
}

// answerWith has the recorder answer GET path with body (200), else pass
// the request on to stripe-mock.
func (f *fixture) answerWith(t *testing.T, answers map[string]any) {
	t.Helper()
	f.rec.answer = func(r *http.Request, _ int) (*http.Response, error, bool) {
		body, ok := answers[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			return nil, nil, false
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err, true
		}
		return stripeError(r, http.StatusOK, string(b)), nil, true
	}
}

// methodsOf counts the payment methods stored for a user.
func (f *fixture) methodsOf(t *testing.T, userID string) int {
	t.Helper()
	var n int
	if err := f.st.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM billing_payment_methods WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWithStripeAConfirmedSetupIsReadBackBeforeItIsSaved: with Stripe the
// payment page gives only the SetupIntent's id; the server reads it back
// (its payment method expanded) and saves the card as the default with
// its brand and last four only when it succeeded for the user's own
// customer. Another customer's, an unknown one, or one that has not
// succeeded is an invalid setup_intent saying why, and nothing is saved.
func TestWithStripeAConfirmedSetupIsReadBackBeforeItIsSaved(t *testing.T) {
	declined := map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."}
	cases := []struct {
		name   string
		answer func(setup billing.Setup) any // nil: Stripe knows no such setup
		want   []string                      // what the refusal says; none when saved
	}{
		{"a setup that succeeded for the user's own customer saves its card as the default", func(s billing.Setup) any {
			return recordedSetup(s.SetupIntent, s.Customer, "succeeded", recordedCard("pm_page", "visa", "4242"), nil)
		}, nil},
		{"a setup of another customer is refused", func(s billing.Setup) any {
			return recordedSetup(s.SetupIntent, "cus_someone_else", "succeeded", recordedCard("pm_theirs", "visa", "4242"), nil)
		}, []string{"not started for you", "nothing was saved"}},
		{"a declined setup is refused with its status, to try another method", func(s billing.Setup) any {
			return recordedSetup(s.SetupIntent, s.Customer, "requires_payment_method", nil, declined)
		}, []string{"declined", "requires_payment_method", "Your card was declined. (generic_decline)", "try another"}},
		{"a setup waiting for the bank's check is refused until it is finished", func(s billing.Setup) any {
			return recordedSetup(s.SetupIntent, s.Customer, "requires_action", nil, nil)
		}, []string{"requires_action", "finish the bank's check"}},
		{"a setup still processing is refused", func(s billing.Setup) any {
			return recordedSetup(s.SetupIntent, s.Customer, "processing", nil, nil)
		}, []string{"processing", "when Stripe reports it succeeded"}},
		{"an unknown setup is refused", nil, []string{"Stripe knows no setup intent"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, setup := stripeFixture(t, "sqlite")
			ctx := context.Background()
			path := "/v1/setup_intents/" + setup.SetupIntent
			if c.answer != nil {
				f.answerWith(t, map[string]any{path: c.answer(setup)})
			} else {
				f.rec.answer = func(r *http.Request, _ int) (*http.Response, error, bool) {
					if r.URL.Path == path {
						return stripeError(r, 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such setupintent"}}`), nil, true
					}
					return nil, nil, false
				}
			}
			pm, err := f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, "")
			reads := f.rec.sent(http.MethodGet, path)
			if len(reads) != 1 {
				t.Fatalf("reads of the setup intent %+v", reads)
			}
			wantForm(t, reads[0], map[string]string{"expand[0]": "payment_method"})
			if len(f.rec.sent(http.MethodPost, path+"/confirm")) != 0 {
				t.Fatal("the server confirmed the setup itself")
			}
			stored, serr := f.st.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox)
			if c.want == nil {
				if err != nil || pm.ID != "pm_page" || pm.Brand != "visa" || pm.Last4 != "4242" || pm.Type != "card" || pm.Backend != billing.BackendStripe ||
					!pm.Default || pm.UserID != "ana" || !pm.CreatedAt.Equal(f.clock.Now()) {
					t.Fatalf("saved = %+v, %v", pm, err)
				}
				if serr != nil || stored != pm {
					t.Fatalf("stored default = %+v, %v; want %+v", stored, serr, pm)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.KindInvalid || len(fe.Problems) != 1 || fe.Problems[0].Field != "setup_intent" {
				t.Fatalf("refusal = %#v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(fe.Problems[0].Message, w) {
					t.Errorf("refusal %q does not say %q", fe.Problems[0].Message, w)
				}
			}
			if fault.KindOf(serr) != fault.KindNotFound || f.methodsOf(t, "ana") != 0 {
				t.Fatalf("a refused setup saved %+v (%v)", stored, serr)
			}
		})
	}
}

// TestWithStripeACardNumberIsRefusedAndTheMockNeedsOne: a card number
// never reaches Stripe's path (nothing is read), and the mock backend,
// which confirms with a test card, refuses a confirmation without one.
func TestWithStripeACardNumberIsRefusedAndTheMockNeedsOne(t *testing.T) {
	f, setup := stripeFixture(t, "sqlite")
	ctx := context.Background()
	before := len(f.rec.reqs)
	_, err := f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, "4242 4242 4242 4242")
	if fault.KindOf(err) != fault.KindForbidden || len(f.rec.reqs) != before {
		t.Fatalf("a card number with Stripe = %v (%d requests)", err, len(f.rec.reqs)-before)
	}
	if effect, err := f.svc.PreviewConfirm(ctx, f.sandbox, "ana", setup.SetupIntent, ""); err != nil || !strings.Contains(effect, "read setup intent") {
		t.Fatalf("preview with Stripe = %q, %v", effect, err)
	}

	m := newFixture(t, "sqlite")
	ms, err := m.svc.StartSetup(ctx, m.sandbox, "ana")
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.svc.ConfirmSetup(ctx, m.sandbox, "ana", ms.SetupIntent, "")
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.KindInvalid || fe.Problems[0].Field != "card_number" {
		t.Fatalf("the mock without a card number = %v", err)
	}
}

// TestThePageAndTheWebhookSaveOneMethodWhicheverComesFirst: the payment
// page's confirmation and Stripe's setup_intent.succeeded save the same
// setup through one path: whichever comes second finds the method the
// default already and changes nothing (no second row, not its time), and
// the webhook then records its event ignored.
func TestThePageAndTheWebhookSaveOneMethodWhicheverComesFirst(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, pageFirst := range []bool{true, false} {
			name := backend + "/the webhook first"
			if pageFirst {
				name = backend + "/the page first"
			}
			t.Run(name, func(t *testing.T) {
				f, setup := stripeFixture(t, backend)
				ctx := context.Background()
				card := recordedCard("pm_both", "mastercard", "4444")
				// stripe-mock answers its fixture card to any payment
				// method's id; the webhook's read answers the same card
				// as the setup, as Stripe would.
				f.answerWith(t, map[string]any{
					"/v1/setup_intents/" + setup.SetupIntent: recordedSetup(setup.SetupIntent, setup.Customer, "succeeded", card, nil),
					"/v1/payment_methods/pm_both":            card,
				})
				page := func() billing.PaymentMethod {
					pm, err := f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, "")
					if err != nil {
						t.Fatalf("the page's confirmation: %v", err)
					}
					return pm
				}
				hook := func() billing.ProcessorEvent {
					return f.deliver(t, "setup_intent.succeeded", map[string]any{"id": setup.SetupIntent, "object": "setup_intent",
						"customer": setup.Customer, "payment_method": "pm_both", "status": "succeeded"})
				}
				var first billing.PaymentMethod
				var pe billing.ProcessorEvent
				if pageFirst {
					first = page()
					f.clock.Advance(time.Minute)
					pe = hook()
				} else {
					pe = hook()
					if pe.Outcome != billing.OutcomeApplied {
						t.Fatalf("the first word, the webhook's: %s (%s)", pe.Outcome, pe.Error)
					}
					var err error
					if first, err = f.st.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox); err != nil {
						t.Fatal(err)
					}
					f.clock.Advance(time.Minute)
					if again := page(); again != first {
						t.Fatalf("the page after the webhook answered %+v, want the method as saved %+v", again, first)
					}
				}
				if pageFirst && (pe.Outcome != billing.OutcomeIgnored || !strings.Contains(pe.Error, "default already")) {
					t.Fatalf("the webhook after the page: %s (%s), want ignored", pe.Outcome, pe.Error)
				}
				got, err := f.st.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox)
				if err != nil || got != first || got.ID != "pm_both" || got.Brand != "mastercard" || got.Last4 != "4444" || got.Backend != billing.BackendStripe {
					t.Fatalf("default = %+v, %v; want the first save unchanged %+v", got, err, first)
				}
				if n := f.methodsOf(t, "ana"); n != 1 {
					t.Fatalf("%d payment methods saved, want 1", n)
				}
			})
		}
	}
}
