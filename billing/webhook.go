package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// EventProcessorEvent is the outbox event naming a processor event that
// was received and stored: the billing worker processes it.
const EventProcessorEvent events.Type = "billing.processor_event"

// WebhookTolerance is how far a webhook's signed timestamp may be from
// now: an older delivery is refused as a replay of a captured one.
const WebhookTolerance = 5 * time.Minute

// Outcomes of processing an event.
const (
	OutcomeApplied = "applied"
	OutcomeIgnored = "ignored"
	// OutcomeFailed: the event cannot be applied (it names no tenant or
	// subscription of ours that it could change); Error says why.
	OutcomeFailed = "failed"
)

// ProcessorEvent is one event a processor sent to a webhook endpoint, as
// stored: by its id, once.
type ProcessorEvent struct {
	ID        string
	Processor BackendKind
	// Endpoint is the tenant whose own endpoint received it; empty for
	// the global endpoint.
	Endpoint   string
	Type       string
	Livemode   bool
	Payload    []byte
	ReceivedAt time.Time
	// TenantID and UserID are whom processing found it concerns.
	TenantID    string
	UserID      string
	ProcessedAt *time.Time
	Outcome     string
	Error       string
}

// EventStats is how a processor's webhook deliveries fare since a time:
// the events received, processed and failed in that time, those waiting
// to be processed however old, the oldest waiting and why it waits, and
// the latest failure.
type EventStats struct {
	Received          int64     `json:"received"`
	Processed         int64     `json:"processed"`
	Failed            int64     `json:"failed"`
	Unprocessed       int64     `json:"unprocessed"`
	OldestUnprocessed time.Time `json:"oldest_unprocessed_at,omitzero"`
	// Waiting is the error noted on the oldest unprocessed event.
	Waiting      string    `json:"waiting,omitempty"`
	LastReceived time.Time `json:"last_received_at,omitzero"`
	// LastFailure is the type and error of the latest failed event.
	LastFailure string `json:"last_failure,omitempty"`
}

// EventRepo keeps the processor events received and what the webhooks
// read; the store implements it.
type EventRepo interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// PutProcessorEvent stores e unless an event of its id is stored, and
	// reports whether it stored it.
	PutProcessorEvent(ctx context.Context, e ProcessorEvent) (bool, error)
	ProcessorEvent(ctx context.Context, id string) (ProcessorEvent, error)
	// ClaimProcessorEvent marks the event processed at at, unless it is
	// already: false then.
	ClaimProcessorEvent(ctx context.Context, id string, at time.Time) (bool, error)
	// FinishProcessorEvent records whom e concerned and its outcome.
	FinishProcessorEvent(ctx context.Context, e ProcessorEvent) error
	// NoteProcessorEventError records why e could not be processed yet.
	NoteProcessorEventError(ctx context.Context, id, msg string) error
	// UnprocessedProcessorEvents lists up to limit events not processed,
	// oldest first.
	UnprocessedProcessorEvents(ctx context.Context, limit int) ([]ProcessorEvent, error)
	Enqueue(ctx context.Context, es ...events.Event) error
	AppendAudit(ctx context.Context, r audit.Record) (int64, error)
	Tenant(ctx context.Context, id string) (tenant.Tenant, error)
	// CustomerByProcessorID finds the customer a processor's customer id
	// is.
	CustomerByProcessorID(ctx context.Context, customerID string) (Customer, error)
	// SubscriptionByBackendID finds the tenant's subscription the
	// processor knows as backendID.
	SubscriptionByBackendID(ctx context.Context, tenantID, backendID string) (Subscription, error)
	Subscription(ctx context.Context, tenantID, id string) (Subscription, error)
	// PostingOwner is the account a ledger reference was posted to.
	PostingOwner(ctx context.Context, reference string) (tenantID, userID string, err error)
	// PostedSum adds up the account's entries whose reference starts with
	// prefix.
	PostedSum(ctx context.Context, tenantID, userID, prefix string) (money.Amount, error)
}

// Delivery is one webhook request as it arrived.
type Delivery struct {
	// Tenant is the tenant whose own endpoint was called; empty for the
	// global one.
	Tenant    string
	Payload   []byte
	Signature string
	// Addr is where the request came from, for the audit log.
	Addr string
}

// Receipt is what a delivery did.
type Receipt struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Replayed is set when the event was received before: nothing changed.
	Replayed bool `json:"replayed"`
}

// processor is the actor every webhook effect is recorded as.
var processor = actor.Processor(string(BackendStripe))

// webhookSecret is the signing secret the endpoint verifies with in mode
// m: the global stripe.webhook_secret, or a tenant's own (one it set for
// its own Stripe account; the global one does not stand in for it).
func (s *Service) webhookSecret(tenantID string, m mode.Mode) (string, error) {
	snap := s.params.Snapshot()
	if tenantID == "" {
		if v := snap.String("", m, "stripe.webhook_secret"); v != "" {
			return v, nil
		}
		return "", fault.Unavailable("no Stripe webhook secret is set for %s: set stripe.webhook_secret (whsec_…) globally", m)
	}
	v, src := snap.Resolve(tenantID, m, "stripe.webhook_secret")
	if src.Scope.TenantID != tenantID || v.String() == "" {
		return "", fault.Unavailable("tenant %s has no Stripe webhook secret of its own for %s: set stripe.webhook_secret for the tenant, "+
			"or send its events to /webhooks/stripe", tenantID, m)
	}
	return v.String(), nil
}

// ReceiveStripe verifies a Stripe webhook delivery and stores its event
// with the outbox event that has it processed, in one transaction. The
// signature is checked with the endpoint's secret of the event's mode
// (livemode: LIVE), within WebhookTolerance; a forged or stale delivery
// is malformed and stores nothing. An event stored before is answered as
// replayed and changes nothing. Every delivery is audited.
func (s *Service) ReceiveStripe(ctx context.Context, d Delivery) (Receipt, error) {
	if s.events == nil {
		return Receipt{}, fault.Unavailable("webhooks are not served by this instance")
	}
	// The mode names the secret; the signature then proves the payload,
	// mode and all.
	var head struct {
		Livemode bool `json:"livemode"`
	}
	_ = json.Unmarshal(d.Payload, &head)
	m := mode.Sandbox
	if head.Livemode {
		m = mode.Live
	}
	secret, err := s.webhookSecret(d.Tenant, m)
	if err != nil {
		return Receipt{}, err
	}
	ev, err := webhook.ConstructEventWithOptions(d.Payload, d.Signature, secret,
		webhook.ConstructEventOptions{Tolerance: WebhookTolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		refusal := "forged"
		msg := "the Stripe-Signature does not match the payload and the endpoint's secret"
		switch {
		case errors.Is(err, webhook.ErrTooOld):
			refusal, msg = "stale", "the Stripe-Signature timestamp is more than 5 minutes from now"
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader):
			msg = "the Stripe-Signature header is missing or unreadable"
		case !errors.Is(err, webhook.ErrNoValidSignature):
			refusal, msg = "malformed", "the signed payload is not a Stripe event"
		}
		s.auditDelivery(ctx, d, m, "", "", refusal, msg)
		return Receipt{}, fault.Malformed("Stripe-Signature", "webhook refused: %s", msg)
	}
	if ev.ID == "" || ev.Type == "" {
		s.auditDelivery(ctx, d, m, "", "", "malformed", "the event has no id or type")
		return Receipt{}, fault.Malformed("id", "webhook refused: the event has no id or type")
	}
	now := s.clock()
	pe := ProcessorEvent{ID: ev.ID, Processor: BackendStripe, Endpoint: d.Tenant, Type: string(ev.Type), Livemode: ev.Livemode,
		Payload: d.Payload, ReceivedAt: now}
	out := Receipt{ID: ev.ID, Type: string(ev.Type)}
	err = s.events.InTx(ctx, func(ctx context.Context) error {
		fresh, err := s.events.PutProcessorEvent(ctx, pe)
		if err != nil {
			return err
		}
		out.Replayed = !fresh
		if fresh {
			// Events of one customer share a key, so they reach the
			// worker in the order they came.
			oe, err := events.New(EventProcessorEvent, orderKey(ev.Data), d.Tenant, map[string]string{"id": ev.ID}, now)
			if err != nil {
				return err
			}
			if err := s.events.Enqueue(ctx, oe); err != nil {
				return err
			}
		}
		outcome := "accepted"
		if !fresh {
			outcome = "replayed"
		}
		_, err = s.events.AppendAudit(ctx, deliveryRecord(d, m, now, ev.ID, string(ev.Type), outcome, ""))
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("store Stripe event %s: %w", ev.ID, err)
	}
	if !out.Replayed && s.committed != nil {
		s.committed()
	}
	return out, nil
}

// orderKey is the customer an event's object belongs to, else the object.
func orderKey(data *stripe.EventData) string {
	if data == nil {
		return "unknown"
	}
	var obj struct {
		ID       string          `json:"id"`
		Customer json.RawMessage `json:"customer"`
	}
	_ = json.Unmarshal(data.Raw, &obj)
	if c := expandableID(obj.Customer); c != "" {
		return c
	}
	if obj.ID != "" {
		return obj.ID
	}
	return "unknown"
}

// expandableID reads a field Stripe sends as an id or as the object.
func expandableID(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.ID
}

func deliveryRecord(d Delivery, m mode.Mode, at time.Time, id, typ, outcome, msg string) audit.Record {
	in := map[string]any{"endpoint": "/webhooks/stripe", "outcome": outcome}
	if d.Tenant != "" {
		in["endpoint"] = "/webhooks/stripe/" + d.Tenant
	}
	if id != "" {
		in["event"], in["type"] = id, typ
	}
	if d.Addr != "" {
		in["ip"] = d.Addr
	}
	r := audit.Record{At: at, Actor: processor, TenantID: d.Tenant, Mode: m, Action: "billing.webhook", Verdict: "allow", Input: audit.JSON(in)}
	if msg != "" {
		r.Actor = actor.Anonymous(d.Tenant, d.Addr)
		r.Verdict, r.Error = "deny", msg
	}
	return r
}

// auditDelivery records a refused delivery; a failure to record it is
// logged, and the refusal stands.
func (s *Service) auditDelivery(ctx context.Context, d Delivery, m mode.Mode, id, typ, outcome, msg string) {
	if _, err := s.events.AppendAudit(ctx, deliveryRecord(d, m, s.clock(), id, typ, outcome, msg)); err != nil {
		s.log.ErrorContext(ctx, "audit a refused webhook", "outcome", outcome, "err", err)
	}
}
