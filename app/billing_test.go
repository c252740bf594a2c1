package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
)

// TestAWebhookAcceptedWhileKafkaIsDownIsAppliedOnceItReturns: Stripe's
// delivery is answered 200 while the cluster refuses every write (the
// outbox holds it) and nothing is applied; once the cluster is back the
// billing worker applies it, once, though Stripe delivered it twice.
func TestAWebhookAcceptedWhileKafkaIsDownIsAppliedOnceItReturns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, down := withKafkaDown(ctx, t)
	const secret = "whsec_outage"
	if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Scope: params.Scope{Mode: mode.Sandbox},
		Key: "stripe.webhook_secret", Value: secret, Confirm: "global"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	payload, _ := json.Marshal(map[string]any{"id": "evt_outage", "object": "event", "type": "payment_intent.succeeded", "livemode": false,
		"data": map[string]any{"object": map[string]any{"id": "pi_outage", "object": "payment_intent", "amount": 2500,
			"amount_received": 2500, "currency": "usd", "metadata": map[string]string{"gpubroker_purpose": billing.PurposeCredits,
				"gpubroker_tenant": "default", "gpubroker_user": "u-ana"}}}})
	post := func() {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/webhooks/stripe", strings.NewReader(string(payload)))
		req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery answered %d", resp.StatusCode)
		}
	}
	post()
	post()
	time.Sleep(300 * time.Millisecond)
	if b, _ := a.Store.Balance(ctx, "default", "u-ana"); b != 0 {
		t.Fatalf("credited %s while Kafka was down", b.Decimal())
	}
	down.Store(false)
	for {
		e, err := a.Store.ProcessorEvent(ctx, "evt_outage")
		if err != nil || ctx.Err() != nil {
			t.Fatalf("event: %+v %v %v", e, err, ctx.Err())
		}
		if e.ProcessedAt != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	entries, err := a.Store.Entries(ctx, "default", "u-ana", 10)
	if b, _ := a.Store.Balance(ctx, "default", "u-ana"); err != nil || b != 25*money.Dollar || len(entries) != 1 {
		t.Fatalf("balance %s, entries %+v, %v", b.Decimal(), entries, err)
	}
}

// TestAnEventLeftUnprocessedIsAppliedAtTheNextStart: an event stored
// whose outbox event never reached a worker (the instance stopped) is
// taken up by the sweep when the platform starts again.
func TestAnEventLeftUnprocessedIsAppliedAtTheNextStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := Config{DataDir: t.TempDir()}
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"id": "evt_left", "object": "event", "type": "payment_intent.succeeded", "livemode": false,
		"data": map[string]any{"object": map[string]any{"id": "pi_left", "object": "payment_intent", "amount": 700, "currency": "usd",
			"metadata": map[string]string{"gpubroker_purpose": billing.PurposeCredits, "gpubroker_tenant": "default", "gpubroker_user": "u-bo"}}}})
	if _, err := a.Store.PutProcessorEvent(ctx, billing.ProcessorEvent{ID: "evt_left", Processor: billing.BackendStripe,
		Type: "payment_intent.succeeded", Payload: payload, ReceivedAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a, err = New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for {
		if e, err := a.Store.ProcessorEvent(ctx, "evt_left"); err != nil || ctx.Err() != nil {
			t.Fatalf("event: %+v %v %v", e, err, ctx.Err())
		} else if e.ProcessedAt != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, _ := a.Store.Balance(ctx, "default", "u-bo"); b != 7*money.Dollar {
		t.Fatalf("balance %s", b.Decimal())
	}
}
