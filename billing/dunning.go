package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// billingActor is who changes a subscription on the processor's word or
// on the retry schedule.
var billingActor = actor.System("billing")

// Failure is a payment the processor could not take.
type Failure struct {
	Invoice  string
	Amount   money.Amount
	Currency string
	Reason   string
}

// retryDaysRule checks billing.payment_retry_days: days after the first
// failure, rising, at least one.
func retryDaysRule() params.Rule {
	return params.Rule{Desc: "must be rising whole days after the first failure, comma-separated, such as 1,3,5",
		Check: func(_ mode.Mode, v params.Value) bool { _, err := parseRetryDays(v.String()); return err == nil }}
}

func parseRetryDays(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 1 || d > 60 || (len(out) > 0 && d <= out[len(out)-1]) {
			return nil, fmt.Errorf("bad retry day %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// retryDays is the tenant's retry schedule.
func (s *Service) retryDays(t tenant.Tenant) []int {
	days, err := parseRetryDays(s.params.Snapshot().String(t.ID, t.Mode, "billing.payment_retry_days"))
	if err != nil { // validated when set
		return []int{1, 3, 5}
	}
	return days
}

// PaymentFailed starts the retry schedule of a subscription whose invoice
// could not be paid: the subscription is past due (the plan holds for
// now), the user is mailed when the next attempt comes, and it is audited,
// in one transaction. A failure of the invoice being retried already
// changes nothing (the schedule's own attempts report it).
func (s *Service) PaymentFailed(ctx context.Context, t tenant.Tenant, sub Subscription, f Failure) (Subscription, error) {
	if sub.Status == Canceled || (sub.Dunning != nil && sub.Dunning.Invoice == f.Invoice) {
		return sub, nil
	}
	now := s.clock()
	days := s.retryDays(t)
	sub.Status, sub.UpdatedAt = PastDue, now
	sub.Dunning = &Dunning{Invoice: f.Invoice, Amount: f.Amount, Currency: f.Currency, Reason: f.Reason, Attempts: 1,
		StartedAt: now, NextAt: now.Add(time.Duration(days[0]) * 24 * time.Hour)}
	var out Subscription
	err := s.repo.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.repo.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		if err := s.mailFailure(ctx, t, out, *out.Dunning, false); err != nil {
			return err
		}
		return s.audit(ctx, t, "billing.payment_failed", out, nil)
	})
	return out, err
}

// PaymentRecovered ends a subscription's retry schedule once its invoice
// was paid: it is active again.
func (s *Service) PaymentRecovered(ctx context.Context, t tenant.Tenant, sub Subscription) (Subscription, error) {
	if sub.Dunning == nil && sub.Status != PastDue {
		return sub, nil
	}
	was := sub.Dunning
	sub.Status, sub.Dunning, sub.UpdatedAt = Active, nil, s.clock()
	var out Subscription
	err := s.repo.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.repo.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		return s.audit(ctx, t, "billing.payment_recovered", out, was)
	})
	return out, err
}

// RunDue does what is due at the clock's now, for every tenant: the next
// attempt of each failed payment, and the renewal of each Mock
// subscription whose period ended (Stripe renews its own and says so by
// webhook). It answers how many subscriptions it handled.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	if s.tenants == nil {
		return 0, errors.New("billing: no tenants to run due payments for")
	}
	due, err := s.repo.DueSubscriptions(ctx, s.clock(), 200)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, sub := range due {
		t, err := s.tenants.Lookup(ctx, sub.TenantID)
		if err == nil {
			if sub.Dunning != nil {
				err = s.retry(ctx, t, sub)
			} else {
				err = s.renew(ctx, t, sub)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("subscription %s: %w", sub.ID, err))
		}
	}
	return len(due), errors.Join(errs...)
}

// subscriptionBackend is the backend serving t when it is the one sub
// was made with.
func (s *Service) subscriptionBackend(t tenant.Tenant, sub Subscription) (Backend, error) {
	b, _, err := s.backend(t)
	if err != nil {
		return nil, err
	}
	if b.Kind() != sub.Backend {
		return nil, fault.Conflict("subscription %s was made with %s, but %s serves tenant %s now", sub.ID, sub.Backend, b.Kind(), t.ID)
	}
	return b, nil
}

// retry makes the next attempt at a failed payment. Paid: the
// subscription is active again. Refused: the next attempt is scheduled and
// the user mailed, or, after the last, the subscription ends.
func (s *Service) retry(ctx context.Context, t tenant.Tenant, sub Subscription) error {
	b, err := s.subscriptionBackend(t, sub)
	if err != nil {
		return err
	}
	d := *sub.Dunning
	// Paid meanwhile (by Stripe's own retry, say, whose webhook recorded
	// it): nothing to try.
	if inv, err := s.repo.Invoice(ctx, t.ID, d.Invoice); err == nil && inv.Status == InvoicePaid {
		_, err = s.PaymentRecovered(ctx, t, sub)
		return err
	}
	err = b.PayInvoice(ctx, d.Invoice, fmt.Sprintf("gpubroker-retry-%s-%d", d.Invoice, d.Attempts+1))
	var refused *Decline
	switch {
	case err == nil:
		_, err = s.PaymentRecovered(ctx, t, sub)
		return err
	case !errors.As(err, &refused):
		// Not the card (the processor unreachable, the invoice in a state
		// it will not pay): the same attempt waits an hour, not a minute.
		d.NextAt = s.clock().Add(time.Hour)
		sub.Dunning, sub.UpdatedAt = &d, s.clock()
		if _, uerr := s.repo.UpdateSubscription(ctx, sub); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	}
	d.Attempts++
	d.Reason = refused.Error()
	days := s.retryDays(t)
	if d.Attempts-1 >= len(days) {
		return s.downgrade(ctx, t, sub, d)
	}
	d.NextAt = d.StartedAt.Add(time.Duration(days[d.Attempts-1]) * 24 * time.Hour)
	sub.Dunning, sub.UpdatedAt = &d, s.clock()
	return s.repo.InTx(ctx, func(ctx context.Context) error {
		out, err := s.repo.UpdateSubscription(ctx, sub)
		if err != nil {
			return err
		}
		if err := s.mailFailure(ctx, t, out, d, false); err != nil {
			return err
		}
		return s.audit(ctx, t, "billing.payment_retry_failed", out, nil)
	})
}

// downgrade ends a subscription whose last attempt failed: the processor
// cancels it, the user's plan and role fall back to FREE and they are
// mailed, in one transaction; then their running pods are stopped (not
// terminated), each stop recorded in the pod's history.
func (s *Service) downgrade(ctx context.Context, t tenant.Tenant, sub Subscription, d Dunning) error {
	b, err := s.subscriptionBackend(t, sub)
	if err != nil {
		return err
	}
	if err := b.CancelNow(ctx, sub.BackendID, "gpubroker-downgrade-"+sub.ID); err != nil {
		return err
	}
	sub.Status, sub.Dunning, sub.PendingPlan, sub.PendingInterval, sub.UpdatedAt = Canceled, nil, "", "", s.clock()
	err = s.repo.InTx(ctx, func(ctx context.Context) error {
		out, err := s.repo.UpdateSubscription(ctx, sub)
		if err != nil {
			return err
		}
		if _, err := s.grant(ctx, t, sub.UserID, Free); err != nil {
			return err
		}
		if err := s.mailFailure(ctx, t, out, d, true); err != nil {
			return err
		}
		return s.audit(ctx, t, "billing.downgrade", out, d)
	})
	if err != nil || s.stopPods == nil {
		return err
	}
	n, err := s.stopPods(ctx, t, sub.UserID, billingActor)
	s.log.InfoContext(ctx, "payment failed for good: plan ended, pods stopped", "tenant", t.ID, "user", sub.UserID,
		"subscription", sub.ID, "stopped", n, "err", err)
	return err
}

// renew starts the next period of a Mock subscription whose period ended,
// or ends one cancelled at the period's end.
func (s *Service) renew(ctx context.Context, t tenant.Tenant, sub Subscription) error {
	b, err := s.subscriptionBackend(t, sub)
	if err != nil {
		return err
	}
	acct, ok := b.(*MockAccount)
	if !ok {
		return nil
	}
	if sub.CancelAtPeriodEnd {
		if err := acct.CancelNow(ctx, sub.BackendID, ""); err != nil {
			return err
		}
		sub.Status, sub.UpdatedAt = Canceled, s.clock()
		return s.repo.InTx(ctx, func(ctx context.Context) error {
			out, err := s.repo.UpdateSubscription(ctx, sub)
			if err != nil {
				return err
			}
			if _, err := s.grant(ctx, t, sub.UserID, Free); err != nil {
				return err
			}
			return s.audit(ctx, t, "billing.subscription_ended", out, nil)
		})
	}
	bs, inv, refused, err := acct.Renew(ctx, sub.BackendID, "gpubroker-renew-"+sub.ID+"-"+sub.PeriodEnd.Format(time.RFC3339))
	if err != nil {
		return err
	}
	if err := s.RecordInvoice(ctx, t, inv); err != nil {
		return err
	}
	sub.period(bs)
	sub.UpdatedAt = s.clock()
	if sub, err = s.repo.UpdateSubscription(ctx, sub); err != nil {
		return err
	}
	if bs.Paid {
		return nil
	}
	reason := ""
	if refused != nil {
		reason = refused.Error()
	}
	_, err = s.PaymentFailed(ctx, t, sub, Failure{Invoice: inv.ID, Amount: inv.AmountDue, Currency: inv.Currency, Reason: reason})
	return err
}

// mailFailure tells the user a payment failed, and when it is tried
// again or that the plan ended.
func (s *Service) mailFailure(ctx context.Context, t tenant.Tenant, sub Subscription, d Dunning, final bool) error {
	return s.mailUser(ctx, t, sub.UserID, mail.KindPaymentFailed, func(name string) any {
		data := mail.PaymentFailed{Name: name, Amount: priced(d.Currency, d.Amount), Reason: d.Reason,
			Link: s.params.Snapshot().BaseURL() + "/billing", Final: final}
		if final {
			data.Plan = Free.Name()
		} else {
			data.NextAttempt = d.NextAt
		}
		return data
	})
}

// audit records what the schedule did to sub, in the caller's
// transaction.
func (s *Service) audit(ctx context.Context, t tenant.Tenant, action string, sub Subscription, detail any) error {
	in := map[string]any{"subscription": sub.ID, "user": sub.UserID}
	if detail != nil {
		in["detail"] = detail
	}
	_, err := s.repo.AppendAudit(ctx, audit.Record{At: s.clock(), Actor: billingActor, Face: audit.FaceDirect, TenantID: t.ID, Mode: t.Mode,
		Action: action, Input: audit.JSON(in), Verdict: "allow", Result: audit.JSON(sub)})
	return err
}
