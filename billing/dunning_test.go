package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
)

// TestAFailedRenewalIsRetriedOnTheScheduleThenTheAccountFallsToFree: on a
// clock moved by hand, the Mock renews ana's PRO when its period ends; her
// card now refuses payments, so the subscription is past due (the plan
// holds) and she is mailed when it is tried again: 1, 3 and 5 days after.
// Nothing is tried between those days. The last failure cancels the
// subscription, makes her a plain user, stops her running pods and mails
// her; each step is audited. bo's renewal fails too, but he saves a card
// that pays and the next attempt recovers the subscription.
func TestAFailedRenewalIsRetriedOnTheScheduleThenTheAccountFallsToFree(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			card := func(user, number string) {
				t.Helper()
				setup, err := f.svc.StartSetup(ctx, f.sandbox, user)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.svc.ConfirmSetup(ctx, f.sandbox, user, setup.SetupIntent, number); err != nil {
					t.Fatal(err)
				}
			}
			for _, u := range []string{"ana", "bo"} {
				card(u, "4242 4242 4242 4242")
				if _, err := f.svc.Subscribe(ctx, f.sandbox, u, billing.Pro, billing.Monthly); err != nil {
					t.Fatal(err)
				}
				card(u, "4000 0000 0000 9995") // the new default refuses every payment
			}
			sub := func(user string) billing.Subscription {
				t.Helper()
				a, err := f.svc.Account(ctx, f.sandbox, user)
				if err != nil || a.Subscription == nil {
					t.Fatalf("account of %s = %+v, %v", user, a, err)
				}
				return *a.Subscription
			}
			run := func(want int) {
				t.Helper()
				n, err := f.svc.RunDue(ctx)
				if err != nil || n != want {
					t.Fatalf("run due at %s: %d handled, %v; want %d", f.clock.Now(), n, err, want)
				}
			}
			end := *sub("ana").PeriodEnd
			run(0)
			f.clock.Advance(end.Sub(f.clock.Now()) + time.Minute)
			run(2)
			started := f.clock.Now().UTC().Truncate(time.Microsecond)
			for _, u := range []string{"ana", "bo"} {
				s := sub(u)
				if s.Status != billing.PastDue || s.Dunning == nil || s.Dunning.Attempts != 1 || !s.Dunning.NextAt.Equal(started.Add(24*time.Hour)) ||
					!strings.Contains(s.Dunning.Reason, "insufficient_funds") || s.Plan != billing.Pro || f.role(t, u) != actor.RoleProUser {
					t.Fatalf("%s after the failed renewal: %+v %+v", u, s, s.Dunning)
				}
			}
			run(0) // nothing is due until the first retry day
			card("bo", "4242 4242 4242 4242")

			want := map[int]time.Duration{2: 3 * 24 * time.Hour, 3: 5 * 24 * time.Hour}
			for _, step := range []struct {
				advance time.Duration
				handled int
				attempt int
			}{{24 * time.Hour, 2, 2}, {2 * 24 * time.Hour, 1, 3}} {
				f.clock.Advance(step.advance)
				run(step.handled)
				s := sub("ana")
				if s.Status != billing.PastDue || s.Dunning.Attempts != step.attempt || !s.Dunning.NextAt.Equal(started.Add(want[step.attempt])) {
					t.Fatalf("ana after attempt %d: %+v %+v", step.attempt, s, s.Dunning)
				}
			}
			if s := sub("bo"); s.Status != billing.Active || s.Dunning != nil || f.role(t, "bo") != actor.RoleProUser {
				t.Fatalf("bo paid with his new card but is %+v %+v", s, s.Dunning)
			}

			f.clock.Advance(2 * 24 * time.Hour)
			run(1)
			a, err := f.svc.Account(ctx, f.sandbox, "ana")
			if err != nil || a.Plan != billing.Free || a.Subscription != nil || f.role(t, "ana") != actor.RoleUser {
				t.Fatalf("ana after the last attempt: %+v, role %s, %v", a, f.role(t, "ana"), err)
			}
			if len(f.stopped) != 1 || f.stopped[0] != "acme/ana by billing" {
				t.Fatalf("pods stopped: %v; want ana's, by billing", f.stopped)
			}
			var failed []mail.PaymentFailed
			for _, m := range f.mails.to("ana@acme.test") {
				if m.kind == mail.KindPaymentFailed {
					failed = append(failed, m.data.(mail.PaymentFailed))
				}
			}
			if len(failed) != 4 || failed[0].NextAttempt.IsZero() || !failed[3].Final || failed[3].Plan != "FREE" ||
				!strings.HasPrefix(failed[0].Amount, "USD 29.00") {
				t.Fatalf("ana's payment mail: %+v; want 3 with the next attempt, then the final one", failed)
			}
			recs, err := f.st.QueryAudit(ctx, audit.Filter{TenantID: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, r := range recs {
				if r.Actor.ID == "billing" && r.Mode == mode.Sandbox {
					count[r.Action]++
				}
			}
			if count["billing.payment_failed"] != 2 || count["billing.payment_retry_failed"] != 2 || count["billing.downgrade"] != 1 ||
				count["billing.payment_recovered"] != 1 {
				t.Fatalf("audited %v", count)
			}
			run(0)
		})
	}
}

// TestAnInvoicePaidMeanwhileEndsTheRetries: when the processor reports
// the failed invoice paid before the next attempt (Stripe's own retry),
// that attempt charges nothing and the subscription is active again.
func TestAnInvoicePaidMeanwhileEndsTheRetries(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	for _, number := range []string{"4242 4242 4242 4242", "4000 0000 0000 9995"} {
		setup, err := f.svc.StartSetup(ctx, f.sandbox, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, number); err != nil {
			t.Fatal(err)
		}
		if number == "4242 4242 4242 4242" {
			if _, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, _ := f.svc.Account(ctx, f.sandbox, "ana")
	f.clock.Advance(a.Subscription.PeriodEnd.Sub(f.clock.Now()) + time.Minute)
	if _, err := f.svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = f.svc.Account(ctx, f.sandbox, "ana")
	if a.Subscription.Dunning == nil {
		t.Fatalf("the renewal did not fail: %+v", a.Subscription)
	}
	inv, err := f.svc.Invoice(ctx, f.sandbox, "ana", a.Subscription.Dunning.Invoice)
	if err != nil {
		t.Fatal(err)
	}
	inv.Status, inv.AmountPaid = billing.InvoicePaid, inv.AmountDue
	if err := f.svc.RecordInvoice(ctx, f.sandbox, inv); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	if n, err := f.svc.RunDue(ctx); err != nil || n != 1 {
		t.Fatalf("run due: %d, %v", n, err)
	}
	a, _ = f.svc.Account(ctx, f.sandbox, "ana")
	if a.Subscription.Status != billing.Active || a.Subscription.Dunning != nil || a.Plan != billing.Pro {
		t.Fatalf("after the invoice was paid meanwhile: %+v", a.Subscription)
	}
}
