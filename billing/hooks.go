package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// hook applies one type of processor event. fetch, when set, reads what
// apply needs from the processor before any transaction opens; apply
// changes the platform's records in the transaction that marks the event
// processed, so an effect and its mark commit together.
type hook struct {
	fetch func(ctx context.Context, s *Service, ev *received) error
	apply func(ctx context.Context, s *Service, ev *received) error
}

// hooks is the one table of the event types the platform acts on: a new
// type is one line here and its function. Any other type is stored and
// ignored.
var hooks = map[stripe.EventType]hook{
	"setup_intent.succeeded":        {fetch: fetchPaymentMethod, apply: savePaymentMethod},
	"customer.subscription.created": {apply: syncSubscription},
	"customer.subscription.updated": {apply: syncSubscription},
	"customer.subscription.deleted": {apply: syncSubscription},
	"invoice.finalized":             {apply: invoiceFinalized},
	"invoice.paid":                  {apply: invoicePaid},
	"invoice.payment_failed":        {apply: invoiceFailed},
	"payment_intent.succeeded":      {apply: creditsPaid},
	"charge.refunded":               {apply: chargeRefunded},
}

// received is an event being processed.
type received struct {
	ProcessorEvent
	event stripe.Event
	mode  mode.Mode
	// outcome and detail are what applying it did and why.
	outcome string
	detail  string
	// pm is the payment method fetch read.
	pm PaymentMethod
}

// ignore ends an event's processing without an effect.
func (ev *received) ignore(why string) error {
	ev.outcome, ev.detail = OutcomeIgnored, why
	return nil
}

// tenant is the tenant the event concerns, in the event's mode.
func (ev *received) tenant() tenant.Tenant { return tenant.Tenant{ID: ev.TenantID, Mode: ev.mode} }

func (ev *received) decode(v any) error {
	if ev.event.Data == nil {
		return fault.Malformed("data", "event %s carries no object", ev.ID)
	}
	if err := json.Unmarshal(ev.event.Data.Raw, v); err != nil {
		return fault.Malformed("data.object", "event %s: %v", ev.ID, err)
	}
	return nil
}

// errProcessed rolls back a transaction that found its event processed
// by another worker.
var errProcessed = errors.New("processed already")

// ProcessEvent applies a stored processor event once: an event processed
// before is skipped, so a redelivered outbox event changes nothing. The
// effect, the event's mark and its audit record commit together. An event
// that cannot apply (it names no tenant or subscription of ours) is
// marked failed; any other error is noted on the event and returned, and
// the caller tries again later.
func (s *Service) ProcessEvent(ctx context.Context, id string) error {
	if s.events == nil {
		return fault.Unavailable("processor events are not kept by this instance")
	}
	pe, err := s.events.ProcessorEvent(ctx, id)
	if err != nil || pe.ProcessedAt != nil {
		return err
	}
	ev := &received{ProcessorEvent: pe, outcome: OutcomeApplied, mode: mode.Sandbox}
	if pe.Livemode {
		ev.mode = mode.Live
	}
	if err := json.Unmarshal(pe.Payload, &ev.event); err != nil {
		return s.failed(ctx, ev, fault.Malformed("payload", "event %s: %v", id, err))
	}
	h, known := hooks[ev.event.Type]
	if !known {
		ev.outcome, ev.detail = OutcomeIgnored, "the platform does not act on "+pe.Type
	}
	if known && h.fetch != nil {
		if err := h.fetch(ctx, s, ev); err != nil {
			return s.failed(ctx, ev, err)
		}
	}
	err = s.events.InTx(ctx, func(ctx context.Context) error {
		claimed, err := s.events.ClaimProcessorEvent(ctx, id, s.clock())
		if err != nil {
			return err
		}
		if !claimed {
			return errProcessed
		}
		if known && ev.outcome == OutcomeApplied {
			if err := h.apply(ctx, s, ev); err != nil {
				return err
			}
		}
		return s.finish(ctx, ev, "")
	})
	switch {
	case errors.Is(err, errProcessed):
		return nil
	case err != nil:
		return s.failed(ctx, ev, err)
	}
	s.log.InfoContext(ctx, "processor event processed", "event", id, "type", pe.Type, "tenant", ev.TenantID, "outcome", ev.outcome)
	return nil
}

// permanent reports whether trying an event again cannot help: it is
// malformed, or names nothing of ours it could change.
func permanent(err error) bool {
	switch fault.KindOf(err) {
	case fault.KindMalformed, fault.KindInvalid, fault.KindNotFound, fault.KindForbidden:
		return true
	}
	return false
}

// failed marks an event that cannot apply as processed, failed, with
// why; any other error is noted on the event and returned.
func (s *Service) failed(ctx context.Context, ev *received, cause error) error {
	if !permanent(cause) {
		if err := s.events.NoteProcessorEventError(context.WithoutCancel(ctx), ev.ID, cause.Error()); err != nil {
			s.log.ErrorContext(ctx, "note a processor event's error", "event", ev.ID, "err", err)
		}
		return fmt.Errorf("process %s %s: %w", ev.Type, ev.ID, cause)
	}
	ev.outcome, ev.detail = OutcomeFailed, cause.Error()
	err := s.events.InTx(ctx, func(ctx context.Context) error {
		claimed, err := s.events.ClaimProcessorEvent(ctx, ev.ID, s.clock())
		if err != nil {
			return err
		}
		if !claimed {
			return errProcessed
		}
		return s.finish(ctx, ev, cause.Error())
	})
	if errors.Is(err, errProcessed) {
		return nil
	}
	if err == nil {
		s.log.WarnContext(ctx, "processor event not applied", "event", ev.ID, "type", ev.Type, "tenant", ev.TenantID, "err", cause)
	}
	return err
}

// finish records the event's outcome and audits it.
func (s *Service) finish(ctx context.Context, ev *received, errText string) error {
	ev.Outcome, ev.Error = ev.outcome, errText
	if ev.Error == "" && ev.outcome == OutcomeIgnored {
		ev.Error = ev.detail
	}
	if err := s.events.FinishProcessorEvent(ctx, ev.ProcessorEvent); err != nil {
		return err
	}
	in := map[string]any{"event": ev.ID, "type": ev.Type, "livemode": ev.Livemode}
	if ev.UserID != "" {
		in["user"] = ev.UserID
	}
	r := audit.Record{At: s.clock(), Actor: processor, TenantID: ev.TenantID, Mode: ev.mode, Action: "billing.processor_event",
		Verdict: "allow", Input: audit.JSON(in), Result: audit.JSON(map[string]string{"outcome": ev.outcome, "detail": ev.detail})}
	if ev.outcome == OutcomeFailed {
		r.Verdict, r.Error = "deny", errText
	}
	_, err := s.events.AppendAudit(ctx, r)
	return err
}

func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// owner finds whom an object concerns: the tenant and user its metadata
// names (gpubroker_tenant, gpubroker_user), else those of its customer.
func (s *Service) owner(ctx context.Context, ev *received, meta map[string]string, customer string) error {
	tenantID, userID := meta["gpubroker_tenant"], meta["gpubroker_user"]
	if (tenantID == "" || userID == "") && customer != "" {
		c, err := s.events.CustomerByProcessorID(ctx, customer)
		switch {
		case err == nil && (tenantID == "" || tenantID == c.TenantID):
			tenantID, userID = c.TenantID, c.UserID
		case err != nil && fault.KindOf(err) != fault.KindNotFound:
			return err
		}
	}
	if tenantID == "" {
		return fault.NotFound("tenant of the event's customer", customer)
	}
	if err := s.concerns(ctx, ev, tenantID); err != nil {
		return err
	}
	ev.TenantID, ev.UserID = tenantID, userID
	return nil
}

// concerns refuses an event that may not change tenantID: one sent to
// another tenant's own endpoint, or one of the other mode (a test-mode
// event, which anyone holding a test key can make, never moves a LIVE
// tenant's money or roles).
func (s *Service) concerns(ctx context.Context, ev *received, tenantID string) error {
	if ev.Endpoint != "" && tenantID != ev.Endpoint {
		return fault.Forbidden("the event came to tenant %s's endpoint but concerns tenant %s", ev.Endpoint, tenantID)
	}
	t, err := s.events.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	if t.Mode != ev.mode {
		return fault.Forbidden("a %s event cannot change tenant %s, which is %s", ev.mode, tenantID, t.Mode)
	}
	return nil
}

// fetchPaymentMethod reads the payment method a setup saved from the
// processor serving its tenant.
func fetchPaymentMethod(ctx context.Context, s *Service, ev *received) error {
	var si stripe.SetupIntent
	if err := ev.decode(&si); err != nil {
		return err
	}
	if err := s.owner(ctx, ev, si.Metadata, customerID(si.Customer)); err != nil {
		return err
	}
	if ev.UserID == "" {
		return fault.NotFound("user of setup intent", si.ID)
	}
	if si.PaymentMethod == nil || si.PaymentMethod.ID == "" {
		return ev.ignore("the setup saved no payment method")
	}
	b, _, err := s.backend(ev.tenant())
	if err != nil {
		return err
	}
	if ev.pm, err = b.PaymentMethod(ctx, si.PaymentMethod.ID); err != nil {
		return fmt.Errorf("read payment method %s: %w", si.PaymentMethod.ID, err)
	}
	return nil
}

// savePaymentMethod makes the saved payment method its user's default,
// as ConfirmSetup does (saveDefault): when the payment page confirmed it
// first, nothing changes.
func savePaymentMethod(ctx context.Context, s *Service, ev *received) error {
	_, changed, err := s.saveDefault(ctx, ev.tenant(), ev.UserID, ev.pm)
	if err != nil {
		return err
	}
	if !changed {
		return ev.ignore("payment method " + ev.pm.ID + " is the default already")
	}
	ev.detail = "payment method " + ev.pm.ID + " is the default"
	return nil
}

// subscriptionOf finds our subscription the processor knows as
// backendID. One made so recently that its processor id is not recorded
// yet (ours, from the metadata) is asked for again later.
func (s *Service) subscriptionOf(ctx context.Context, ev *received, backendID, ours string) (Subscription, bool, error) {
	sub, err := s.events.SubscriptionByBackendID(ctx, ev.TenantID, backendID)
	if err == nil {
		ev.UserID = sub.UserID
		return sub, true, nil
	}
	if fault.KindOf(err) != fault.KindNotFound {
		return sub, false, err
	}
	if ours != "" {
		if sub, err := s.events.Subscription(ctx, ev.TenantID, ours); err == nil && sub.BackendID == "" && sub.Status != Canceled {
			return sub, false, fault.Unavailable("subscription %s is being made: its processor id is not recorded yet", ours)
		}
	}
	return Subscription{}, false, nil
}

// stripeStatus is the state a Stripe status moves ours to; empty for
// one that moves nothing (trialing, paused: never made by the platform).
func stripeStatus(st stripe.SubscriptionStatus) Status {
	switch st {
	case stripe.SubscriptionStatusActive:
		return Active
	case stripe.SubscriptionStatusPastDue, stripe.SubscriptionStatusUnpaid:
		return PastDue
	case stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusIncompleteExpired:
		return Canceled
	case stripe.SubscriptionStatusIncomplete:
		return Incomplete
	}
	return ""
}

// planOfKey reads a price's lookup key (LookupKey) as a plan and interval.
func planOfKey(key string) (PlanID, Interval, bool) {
	for _, p := range PaidPlans {
		for _, i := range Intervals {
			if LookupKey(p, i) == key {
				return p, i, true
			}
		}
	}
	return "", "", false
}

// syncSubscription brings our subscription to what Stripe says of it: its
// state, period, cancellation and plan. Stripe's active state means paid:
// an incomplete subscription becoming active gives the user the plan's
// role, a paid price change (a pending change confirmed) applies the new
// plan; a deleted subscription is canceled and its user back on FREE. A
// state never moves back (canceled stays canceled, paid never becomes
// incomplete), so an event arriving late changes nothing it should not.
func syncSubscription(ctx context.Context, s *Service, ev *received) error {
	var ss stripe.Subscription
	if err := ev.decode(&ss); err != nil {
		return err
	}
	if err := s.owner(ctx, ev, ss.Metadata, customerID(ss.Customer)); err != nil {
		return err
	}
	sub, found, err := s.subscriptionOf(ctx, ev, ss.ID, ss.Metadata["gpubroker_subscription"])
	if err != nil {
		return err
	}
	if !found {
		return ev.ignore("subscription " + ss.ID + " is none of ours")
	}
	if sub.Status == Canceled {
		return ev.ignore("subscription " + sub.ID + " is canceled already")
	}
	target := stripeStatus(ss.Status)
	if ev.event.Type == "customer.subscription.deleted" {
		target = Canceled
	}
	before := sub
	wasPaying, plan, interval := sub.Status.Paying(), sub.Plan, sub.Interval
	switch {
	case target == Canceled:
		sub.Status, sub.PendingPlan, sub.PendingInterval = Canceled, "", ""
	case target == Active:
		sub.Status = Active
	case target == PastDue && wasPaying:
		sub.Status = PastDue
	}
	sub.CancelAtPeriodEnd = ss.CancelAtPeriodEnd
	if end := unix(ss.CurrentPeriodEnd); !end.IsZero() {
		sub.period(BackendSubscription{PeriodStart: unix(ss.CurrentPeriodStart), PeriodEnd: end})
	}
	if ss.Items != nil && len(ss.Items.Data) > 0 {
		item := ss.Items.Data[0]
		sub.BackendItem = item.ID
		if item.Price != nil && sub.Status.Paying() {
			if p, i, ok := planOfKey(item.Price.LookupKey); ok && (p != sub.Plan || i != sub.Interval) {
				sub.Plan, sub.Interval, sub.PendingPlan, sub.PendingInterval = p, i, "", ""
			}
		}
	}
	if sameState(before, sub) {
		// Written anyway, it would only bump the revision under a change
		// under way (a plan change waiting for Stripe's answer).
		return ev.ignore("subscription " + sub.ID + " is as Stripe says already")
	}
	sub.UpdatedAt = s.clock()
	if _, err := s.repo.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	ev.detail = fmt.Sprintf("subscription %s is %s on %s %s", sub.ID, sub.Status, sub.Plan.Name(), sub.Interval)
	switch {
	case sub.Status == Canceled && wasPaying:
		_, err = s.grant(ctx, ev.tenant(), sub.UserID, Free)
	case sub.Status.Paying() && (!wasPaying || plan != sub.Plan || interval != sub.Interval):
		_, err = s.grant(ctx, ev.tenant(), sub.UserID, sub.Plan)
	}
	return err
}

// sameState reports whether a and b record the same state of a
// subscription.
func sameState(a, b Subscription) bool {
	sameTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Status == b.Status && a.Plan == b.Plan && a.Interval == b.Interval && a.PendingPlan == b.PendingPlan &&
		a.PendingInterval == b.PendingInterval && a.CancelAtPeriodEnd == b.CancelAtPeriodEnd && a.BackendItem == b.BackendItem &&
		sameTime(a.PeriodStart, b.PeriodStart) && sameTime(a.PeriodEnd, b.PeriodEnd)
}

// invoiceOf decodes an event's invoice and finds the subscription it
// bills; found is false for an invoice of none of ours.
func invoiceOf(ctx context.Context, s *Service, ev *received) (stripe.Invoice, Subscription, bool, error) {
	var inv stripe.Invoice
	if err := ev.decode(&inv); err != nil {
		return inv, Subscription{}, false, err
	}
	if inv.Subscription == nil || inv.Subscription.ID == "" {
		return inv, Subscription{}, false, ev.ignore("invoice " + inv.ID + " bills no subscription")
	}
	meta := inv.Metadata
	if meta["gpubroker_tenant"] == "" && inv.SubscriptionDetails != nil {
		meta = inv.SubscriptionDetails.Metadata
	}
	if err := s.owner(ctx, ev, meta, customerID(inv.Customer)); err != nil {
		return inv, Subscription{}, false, err
	}
	sub, found, err := s.subscriptionOf(ctx, ev, inv.Subscription.ID, meta["gpubroker_subscription"])
	if err == nil && !found {
		err = ev.ignore("subscription " + inv.Subscription.ID + " is none of ours")
	}
	return inv, sub, found, err
}

// recordInvoice keeps what Stripe says of an invoice of one of our
// customers (RecordInvoice: its status, amounts and lines; when paid, the
// pay-as-you-go it bills is posted; its user is mailed). It answers
// whether the invoice bills a subscription, for the handler to go on.
func recordInvoice(ctx context.Context, s *Service, ev *received) (bool, error) {
	var inv stripe.Invoice
	if err := ev.decode(&inv); err != nil {
		return false, err
	}
	if err := s.owner(ctx, ev, inv.Metadata, customerID(inv.Customer)); err != nil {
		return false, err
	}
	out, err := FromStripeInvoice(&inv)
	if err != nil {
		return false, err
	}
	out.UserID, out.Backend, out.Mode = ev.UserID, BackendStripe, ev.mode
	if err := s.RecordInvoice(ctx, ev.tenant(), out); err != nil {
		return false, err
	}
	ev.detail = fmt.Sprintf("invoice %s is %s", inv.ID, out.Status)
	return inv.Subscription != nil && inv.Subscription.ID != "", nil
}

// invoiceFinalized records an invoice Stripe finalized.
func invoiceFinalized(ctx context.Context, s *Service, ev *received) error {
	_, err := recordInvoice(ctx, s, ev)
	return err
}

// invoicePaid is Stripe saying an invoice was paid: it is recorded (and
// the pay-as-you-go it bills posted), and for a subscription's invoice an
// incomplete subscription becomes active with its plan's role, a past due
// one active again (its retries end), and a change waiting for this
// payment is applied. This is where, with Stripe, a plan and a role
// change.
func invoicePaid(ctx context.Context, s *Service, ev *received) error {
	if billsSubscription, err := recordInvoice(ctx, s, ev); err != nil || !billsSubscription {
		return err
	}
	inv, sub, found, err := invoiceOf(ctx, s, ev)
	if err != nil || !found {
		return err
	}
	if sub.Status == Canceled {
		return ev.ignore("subscription " + sub.ID + " is canceled")
	}
	wasPaying, plan, interval, status := sub.Status.Paying(), sub.Plan, sub.Interval, sub.Status
	if sub.PendingPlan != "" && (!wasPaying || inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionUpdate) {
		sub.Plan, sub.Interval, sub.PendingPlan, sub.PendingInterval = sub.PendingPlan, sub.PendingInterval, "", ""
	}
	sub.Status = Active
	if sub.Status == status && sub.Plan == plan && sub.Interval == interval && sub.Dunning == nil {
		return ev.ignore("subscription " + sub.ID + " is paid up already")
	}
	sub.Dunning = nil
	sub.UpdatedAt = s.clock()
	if _, err := s.repo.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	ev.detail = fmt.Sprintf("subscription %s is active on %s %s", sub.ID, sub.Plan.Name(), sub.Interval)
	if !wasPaying || plan != sub.Plan || interval != sub.Interval {
		_, err = s.grant(ctx, ev.tenant(), sub.UserID, sub.Plan)
	}
	return err
}

// invoiceFailed is Stripe saying a subscription's payment failed. A
// change waiting for it is given up (Stripe keeps the old plan); a
// renewal that failed goes to paymentFailed. A first payment failing
// leaves the subscription incomplete, as Stripe does.
func invoiceFailed(ctx context.Context, s *Service, ev *received) error {
	if billsSubscription, err := recordInvoice(ctx, s, ev); err != nil || !billsSubscription {
		return err
	}
	inv, sub, found, err := invoiceOf(ctx, s, ev)
	if err != nil || !found {
		return err
	}
	if inv.BillingReason == stripe.InvoiceBillingReasonSubscriptionUpdate && sub.PendingPlan != "" {
		ev.detail = fmt.Sprintf("the change of subscription %s to %s %s was not paid", sub.ID, sub.PendingPlan.Name(), sub.PendingInterval)
		sub.PendingPlan, sub.PendingInterval, sub.UpdatedAt = "", "", s.clock()
		_, err := s.repo.UpdateSubscription(ctx, sub)
		return err
	}
	if sub.Status != Active {
		return ev.ignore(fmt.Sprintf("subscription %s is %s", sub.ID, sub.Status))
	}
	amount, err := s.fromProcessor(ev.tenant(), inv.AmountDue, string(inv.Currency))
	if err != nil {
		return err
	}
	ev.detail = fmt.Sprintf("subscription %s is past due; its payment is retried on billing.payment_retry_days", sub.ID)
	_, err = s.PaymentFailed(ctx, ev.tenant(), sub, Failure{Invoice: inv.ID, Amount: amount, Currency: string(inv.Currency),
		Reason: "Stripe could not take the payment of invoice " + inv.ID})
	return err
}

// fromProcessor converts a processor's minor units of currency to an
// amount, refusing a currency the tenant's accounts are not kept in.
func (s *Service) fromProcessor(t tenant.Tenant, n int64, currency string) (money.Amount, error) {
	want := s.params.Snapshot().String(t.ID, t.Mode, "billing.currency")
	if !strings.EqualFold(currency, want) {
		return 0, fault.Invalid("currency", "the payment is in %q but tenant %s keeps its accounts in %s", currency, t.ID, want)
	}
	return FromMinor(n)
}

// creditsPaid credits the ledger with a purchase of credits, once per
// payment intent.
func creditsPaid(ctx context.Context, s *Service, ev *received) error {
	var pi stripe.PaymentIntent
	if err := ev.decode(&pi); err != nil {
		return err
	}
	if pi.Metadata[MetaPurpose] != PurposeCredits {
		return ev.ignore("payment intent " + pi.ID + " buys no credits")
	}
	if err := s.owner(ctx, ev, pi.Metadata, ""); err != nil {
		return err
	}
	if ev.UserID == "" {
		return fault.Invalid("metadata.gpubroker_user", "payment intent %s buys credits for no user", pi.ID)
	}
	n := pi.AmountReceived
	if n == 0 {
		n = pi.Amount
	}
	amount, err := s.fromProcessor(ev.tenant(), n, string(pi.Currency))
	if err != nil {
		return err
	}
	p, err := s.repo.Post(ctx, Posting{TenantID: ev.TenantID, UserID: ev.UserID, Reference: CreditReference(pi.ID), At: s.clock(),
		Add: amount, Kind: KindCredit})
	if err != nil {
		return err
	}
	ev.detail = fmt.Sprintf("credited %s %s", amount.Decimal(), pi.Currency)
	if p.Duplicate {
		ev.detail = "credited already"
	}
	return nil
}

// chargeRefunded takes back the credit a refund of a credits payment
// returned: the amount refunded that no refund entry of the charge holds
// yet, referenced by how much the charge has refunded in all, so a
// replayed or late event posts nothing twice.
func chargeRefunded(ctx context.Context, s *Service, ev *received) error {
	var ch stripe.Charge
	if err := ev.decode(&ch); err != nil {
		return err
	}
	if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
		return ev.ignore("charge " + ch.ID + " is of no payment intent")
	}
	tenantID, userID, err := s.events.PostingOwner(ctx, CreditReference(ch.PaymentIntent.ID))
	if fault.KindOf(err) == fault.KindNotFound {
		return ev.ignore("charge " + ch.ID + " bought no credits")
	}
	if err != nil {
		return err
	}
	if err := s.concerns(ctx, ev, tenantID); err != nil {
		return err
	}
	ev.TenantID, ev.UserID = tenantID, userID
	refunded, err := s.fromProcessor(ev.tenant(), ch.AmountRefunded, string(ch.Currency))
	if err != nil {
		return err
	}
	prefix := "refund:" + ch.ID + ":"
	posted, err := s.events.PostedSum(ctx, tenantID, userID, prefix)
	if err != nil {
		return err
	}
	due := refunded + posted // refund entries are negative
	if due <= 0 {
		return ev.ignore("the refunds of charge " + ch.ID + " are posted already")
	}
	if _, err := s.repo.Post(ctx, Posting{TenantID: tenantID, UserID: userID, Reference: prefix + strconv.FormatInt(ch.AmountRefunded, 10),
		At: s.clock(), Add: -due, Kind: KindRefund}); err != nil {
		return err
	}
	ev.detail = fmt.Sprintf("refunded %s %s", due.Decimal(), ch.Currency)
	return nil
}
