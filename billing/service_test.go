package billing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/stripetest"
	"github.com/gpubroker/pod/tenant"
)

// problem returns the field and message of a domain error's first
// problem, failing unless it is of kind k.
func problem(t *testing.T, err error, k fault.Kind) (string, string) {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok || fe.Kind != k || len(fe.Problems) == 0 {
		t.Fatalf("error = %v, want %s with a problem", err, k)
	}
	return fe.Problems[0].Field, fe.Problems[0].Message
}

// setUp saves card number for ana through the service.
func setUp(t *testing.T, f *fixture, number string) (billing.PaymentMethod, error) {
	t.Helper()
	ctx := context.Background()
	setup, err := f.svc.StartSetup(ctx, f.sandbox, "ana")
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, number)
}

func TestWithTheMockAPaidPlanChangesTheRoleAtOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			setup, err := f.svc.StartSetup(ctx, f.sandbox, "ana")
			if err != nil || setup.Backend != billing.BackendMock || setup.PublishableKey != "" || setup.ClientSecret == "" ||
				!strings.HasPrefix(setup.Customer, "mock_cus_") || len(setup.PaymentMethodTypes) != 3 {
				t.Fatalf("setup = %+v, %v", setup, err)
			}
			pm, err := f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, "4242 4242 4242 4242")
			if err != nil || !pm.Default || pm.Last4 != "4242" {
				t.Fatalf("payment method = %+v, %v", pm, err)
			}
			got, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly)
			if err != nil || got.Subscription.Status != billing.Active || got.Role != actor.RoleProUser || got.Subscription.PeriodEnd == nil {
				t.Fatalf("subscribe = %+v, %v", got, err)
			}
			if r := f.role(t, "ana"); r != actor.RoleProUser {
				t.Fatalf("stored role %s, want pro_user", r)
			}
			page, err := f.svc.Invoices(ctx, f.sandbox, "ana", "", 0)
			if err != nil || len(page.Invoices) != 1 || page.Invoices[0].Status != billing.InvoicePaid || !page.Invoices[0].Mock ||
				page.Invoices[0].AmountPaid != money.MustParse("29") || len(f.mails.to("ana@acme.test")) != 1 {
				t.Fatalf("the first period's invoice: %+v, %v; mail %+v", page, err, f.mails.to("ana@acme.test"))
			}
			acct, err := f.svc.Account(ctx, f.sandbox, "ana")
			if err != nil || acct.Plan != billing.Pro || acct.Subscription == nil || acct.PaymentMethod == nil || acct.Backend != billing.BackendMock {
				t.Fatalf("account = %+v, %v", acct, err)
			}
			_, err = f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Enterprise, billing.Monthly)
			if fault.KindOf(err) != fault.KindConflict || !strings.Contains(err.Error(), "change_plan") {
				t.Fatalf("a second subscription = %v", err)
			}

			changed, err := f.svc.ChangePlan(ctx, f.sandbox, "ana", billing.Enterprise, billing.Annual)
			if err != nil || changed.Subscription.Plan != billing.Enterprise || changed.Subscription.Interval != billing.Annual ||
				changed.Role != actor.RoleEnterpriseUser || f.role(t, "ana") != actor.RoleEnterpriseUser {
				t.Fatalf("change = %+v, %v", changed, err)
			}
			if page, err := f.svc.Invoices(ctx, f.sandbox, "ana", "", 0); err != nil || len(page.Invoices) != 2 {
				t.Fatalf("invoices after the change: %+v, %v; want the proration's too", page, err)
			}
			_, err = f.svc.ChangePlan(ctx, f.sandbox, "ana", billing.Enterprise, billing.Annual)
			if fault.KindOf(err) != fault.KindConflict {
				t.Fatalf("a change to the same plan = %v", err)
			}
			canceled, err := f.svc.Cancel(ctx, f.sandbox, "ana")
			if err != nil || !canceled.CancelAtPeriodEnd || canceled.Status != billing.Active {
				t.Fatalf("cancel = %+v, %v", canceled, err)
			}
			again, err := f.svc.Cancel(ctx, f.sandbox, "ana")
			if err != nil || again.Revision != canceled.Revision {
				t.Fatalf("cancel again = %+v, %v; want nothing changed", again, err)
			}
			if r := f.role(t, "ana"); r != actor.RoleEnterpriseUser {
				t.Fatalf("the role changed on cancelling: %s; the plan holds until the period ends", r)
			}
			if r := f.role(t, "bo"); r != actor.RoleUser {
				t.Fatalf("another user's role changed: %s", r)
			}
		})
	}
}

func TestADeclinedCardChangesNoPlan(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	_, err := setUp(t, f, "4000 0000 0000 0002")
	if field, msg := problem(t, err, fault.KindInvalid); field != "card_number" || !strings.Contains(msg, "generic_decline") {
		t.Fatalf("0002 = %s: %s", field, msg)
	}
	_, err = f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly)
	if fault.KindOf(err) != fault.KindConflict || !strings.Contains(err.Error(), "payment setup") {
		t.Fatalf("subscribe with no card saved = %v", err)
	}
	if _, err := setUp(t, f, "4000 0000 0000 9995"); err != nil {
		t.Fatalf("9995 is saved: %v", err)
	}
	_, err = f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly)
	if field, msg := problem(t, err, fault.KindInvalid); field != "payment_method" || !strings.Contains(msg, "insufficient_funds") {
		t.Fatalf("9995's first payment = %s: %s", field, msg)
	}
	acct, err := f.svc.Account(ctx, f.sandbox, "ana")
	if err != nil || acct.Plan != billing.Free || acct.Subscription != nil || f.role(t, "ana") != actor.RoleUser {
		t.Fatalf("after declines: %+v, %v, role %s", acct, err, f.role(t, "ana"))
	}
	// A good card afterwards subscribes: the refused attempt left nothing behind.
	if _, err := setUp(t, f, "4242424242424242"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly); err != nil || got.Role != actor.RoleProUser {
		t.Fatalf("subscribe = %+v, %v", got, err)
	}
}

func TestUnknownPlansAndIntervalsAreRefusedWithTheValidOnes(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	for _, c := range []struct {
		plan     billing.PlanID
		interval billing.Interval
		field    string
		lists    string
	}{
		{"gold", billing.Monthly, "plan", "pro, enterprise"},
		{billing.Free, billing.Monthly, "plan", "pro, enterprise"},
		{billing.Pro, "weekly", "interval", "monthly, annual"},
	} {
		_, err := f.svc.Subscribe(ctx, f.sandbox, "ana", c.plan, c.interval)
		if field, msg := problem(t, err, fault.KindInvalid); field != c.field || !strings.Contains(msg, c.lists) {
			t.Errorf("%s %s = %s: %s", c.plan, c.interval, field, msg)
		}
	}
}

func TestCardNumbersAreNeverTakenWithStripe(t *testing.T) {
	f := newFixture(t, "sqlite")
	f.set(t, params.Scope{TenantID: "acme", Mode: mode.Sandbox}, "stripe.secret_key", "sk_test_acme")
	_, err := f.svc.ConfirmSetup(context.Background(), f.sandbox, "ana", "seti_1", "4242424242424242")
	if fault.KindOf(err) != fault.KindForbidden || !strings.Contains(err.Error(), "Stripe.js") {
		t.Fatalf("confirm with Stripe = %v", err)
	}
	if _, err := f.svc.PreviewConfirm(context.Background(), f.sandbox, "ana", "seti_1", "4242424242424242"); fault.KindOf(err) != fault.KindForbidden {
		t.Fatalf("preview with Stripe = %v", err)
	}
	if len(f.rec.reqs) != 0 {
		t.Fatalf("Stripe was called: %v", f.rec.reqs)
	}
}

func TestChooseNamesTheBackendOfEachTenant(t *testing.T) {
	f := newFixture(t, "sqlite")
	sandbox := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	live := params.Scope{TenantID: "beta", Mode: mode.Live}
	for _, c := range []struct {
		name  string
		scope params.Scope
		key   string
		t     tenant.Tenant
		want  billing.BackendKind
	}{
		{"a SANDBOX tenant without a key uses the Mock", sandbox, "", f.sandbox, billing.BackendMock},
		{"a SANDBOX tenant with a restricted test key uses Stripe", sandbox, "rk_test_acme", f.sandbox, billing.BackendStripe},
		{"a SANDBOX tenant with a test key uses Stripe", sandbox, "sk_test_acme", f.sandbox, billing.BackendStripe},
		{"a LIVE tenant with a restricted live key uses Stripe", live, "rk_live_beta", f.live, billing.BackendStripe},
		{"a LIVE tenant with a live key uses Stripe", live, "sk_live_beta", f.live, billing.BackendStripe},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.key != "" {
				f.set(t, c.scope, "stripe.secret_key", c.key)
			}
			got, err := billing.Choose(f.params.Snapshot(), c.t)
			if err != nil || got.Kind != c.want || (c.want == billing.BackendStripe && got.SecretKey != c.key) {
				t.Fatalf("choice = %+v, %v; want %s", got.Kind, err, c.want)
			}
		})
	}
	t.Run("a LIVE tenant without a key is refused, never served by the Mock", func(t *testing.T) {
		ctx := context.Background()
		if _, err := f.params.Delete(ctx, sys, live, "stripe.secret_key", "beta"); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.StartSetup(ctx, f.live, "ana")
		if fault.KindOf(err) != fault.KindUnavailable {
			t.Fatalf("setup in LIVE = %v", err)
		}
	})
}

func TestPlansComeFromParametersAndTheProcessorsPrices(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	plans := f.svc.Plans(f.sandbox)
	pro, _ := plans.Plan(billing.Pro)
	free, _ := plans.Plan(billing.Free)
	if plans.Recommended != billing.Pro || !pro.Recommended || pro.Monthly.Amount != money.MustParse("29") || pro.Annual.Amount != money.MustParse("290") ||
		pro.Monthly.Source != billing.FromParameters || pro.Monthly.LookupKey != "gpubroker_pro_monthly" || free.Monthly.Amount != 0 ||
		plans.Currency != "usd" || len(plans.Comparison) != 7 || plans.Comparison[0].Values[billing.Free] != "free" {
		t.Fatalf("plans = %+v", plans)
	}
	f.set(t, params.Scope{TenantID: "acme"}, "plans.pro.monthly_usd", "35")
	if _, err := f.params.Set(ctx, sys, params.SetRequest{Key: "plans.pro.monthly_usd", Value: "35.001", Scope: params.Scope{TenantID: "acme"}, Confirm: "acme"}); err == nil {
		t.Fatal("a price in fractions of a cent was accepted")
	}
	synced, err := f.svc.SyncPlans(ctx, f.sandbox)
	if err != nil || len(synced) != 6 || !synced[1].Created || synced[1].Amount != money.MustParse("35") {
		t.Fatalf("sync = %+v, %v", synced, err)
	}
	again, err := f.svc.SyncPlans(ctx, f.sandbox)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range again {
		if s.Created {
			t.Fatalf("a second sync made %s", s)
		}
	}
	// The first listing after the sync still answers at once; the Mock's
	// prices arrive from the lookup it started.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pro, _ = f.svc.Plans(f.sandbox).Plan(billing.Pro)
		if pro.Monthly.Source == billing.FromMock {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Mock's prices were never listed: %+v", pro)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(pro.Monthly.PriceID, "mock_price_") || pro.Monthly.Amount != money.MustParse("35") {
		t.Fatalf("pro = %+v", pro)
	}
}

func TestListingPlansNeverWaitsOnStripe(t *testing.T) {
	f := newFixture(t, "sqlite")
	stuck := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stuck:
		}
	}))
	defer slow.Close()
	defer close(stuck)
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	f.set(t, sc, "stripe.secret_key", "sk_test_acme")
	f.set(t, sc, "stripe.api_url", slow.URL)
	f.set(t, sc, "stripe.max_network_retries", "0")
	start := time.Now()
	pro, _ := f.svc.Plans(f.sandbox).Plan(billing.Pro)
	if took := time.Since(start); took > time.Second || pro.Monthly.Source != billing.FromParameters {
		t.Fatalf("listing took %s and answered %+v", took, pro.Monthly)
	}
	f.svc.Close() // stops the lookup that hangs
}

func TestSyncPlansMakesStripesMissingPrices(t *testing.T) {
	f := newFixture(t, "sqlite")
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	f.set(t, sc, "stripe.secret_key", "sk_test_acme")
	f.set(t, sc, "stripe.api_url", stripetest.URL(t))
	done, err := f.svc.SyncAccounts(context.Background(), []tenant.Tenant{f.sandbox, f.live})
	if err != nil || len(done) != 6 {
		t.Fatalf("sync = %+v, %v", done, err)
	}
	made := f.rec.sent(http.MethodPost, "/v1/prices")
	// stripe-mock knows no lookup key, so every price is made.
	want := map[string]string{"gpubroker_pro_monthly": "2900", "gpubroker_pro_annual": "29000",
		"gpubroker_enterprise_monthly": "19900", "gpubroker_enterprise_annual": "199000"}
	if len(made) != len(want) {
		t.Fatalf("prices made: %v", made)
	}
	for _, s := range made {
		if want[s.form.Get("lookup_key")] != s.form.Get("unit_amount") || s.form.Get("transfer_lookup_key") != "true" {
			t.Errorf("price made: %v", s.form)
		}
	}
}

func TestASubscriptionBeingMadeHoldsTheUsersPlace(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	if _, err := setUp(t, f, "4242424242424242"); err != nil {
		t.Fatal(err)
	}
	// Another call recorded its subscription and is at the processor now.
	now := f.clock.Now()
	making := billing.Subscription{ID: "bsub_other", TenantID: "acme", UserID: "ana", Mode: mode.Sandbox, Backend: billing.BackendMock,
		Plan: billing.Enterprise, Interval: billing.Monthly, Status: billing.Incomplete, Revision: 1, CreatedAt: now, UpdatedAt: now}
	if err := f.st.CreateSubscription(ctx, making); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly)
	if fault.KindOf(err) != fault.KindConflict || !strings.Contains(err.Error(), "being made") {
		t.Fatalf("subscribe beside one being made = %v", err)
	}
	// A call that never finished does not hold it for ever.
	f.clock.Advance(16 * time.Minute)
	got, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly)
	if err != nil || got.Subscription.Status != billing.Active {
		t.Fatalf("subscribe after the other call was given up = %+v, %v", got, err)
	}
	if old, err := f.st.Subscription(ctx, "acme", "bsub_other"); err != nil || old.Status != billing.Canceled {
		t.Fatalf("the abandoned record = %+v, %v", old, err)
	}
}

func TestConcurrentChangesOfPlanArePaidOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			if _, err := setUp(t, f, "4242424242424242"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(24 * time.Hour)
			const n = 6
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := f.svc.ChangePlan(ctx, f.sandbox, "ana", billing.Enterprise, billing.Monthly)
					errs <- err
				}()
			}
			changed := 0
			for range n {
				switch err := <-errs; {
				case err == nil:
					changed++
				case fault.KindOf(err) != fault.KindConflict:
					t.Errorf("a change = %v, want it done or a conflict", err)
				}
			}
			if changed != 1 || count(t, f, `object = 'invoice' AND status = 'paid'`) != 2 {
				t.Fatalf("%d changes made, %d invoices paid; want one change paid once beside the first period",
					changed, count(t, f, `object = 'invoice' AND status = 'paid'`))
			}
			acct, err := f.svc.Account(ctx, f.sandbox, "ana")
			if err != nil || acct.Plan != billing.Enterprise || acct.Subscription.PendingPlan != "" || f.role(t, "ana") != actor.RoleEnterpriseUser {
				t.Fatalf("after the changes: %+v, %v", acct, err)
			}
		})
	}
}

func TestAUsersPlanIsFreeUntilPaidAndAnAdminsTheOperators(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	now := f.clock.Now()
	if err := f.st.CreateUser(ctx, auth.User{ID: "cy", TenantID: "acme", Email: "cy@acme.test", Name: "Cy", Role: actor.RolePodAdmin,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	free, err := f.svc.PlanOf(ctx, f.sandbox, "ana")
	if err != nil || free.ID != billing.Free || free.Features.MarkupPercent != 20 || free.Features.MaxRunningPods != 1 ||
		free.Features.AllowsGPU("H100-SXM-80GB") || !free.Features.AllowsGPU("L4-PCIE-24GB") {
		t.Fatalf("ana's plan = %+v, %v; want FREE", free, err)
	}
	setup, _ := f.svc.StartSetup(ctx, f.sandbox, "ana")
	if _, err := f.svc.ConfirmSetup(ctx, f.sandbox, "ana", setup.SetupIntent, "4242424242424242"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Subscribe(ctx, f.sandbox, "ana", billing.Pro, billing.Monthly); err != nil {
		t.Fatal(err)
	}
	pro, err := f.svc.PlanOf(ctx, f.sandbox, "ana")
	if err != nil || pro.ID != billing.Pro || pro.Features.MarkupPercent != 12 || pro.Features.MaxRunningPods != 5 || !pro.Features.AllowsGPU("A100-SXM-80GB") {
		t.Fatalf("ana's plan once paid = %+v, %v; want PRO", pro, err)
	}
	f.set(t, params.Scope{TenantID: "acme"}, "billing.markup_percent", "7.5")
	op, err := f.svc.PlanOf(ctx, f.sandbox, "cy")
	if err != nil || op.Role != actor.RolePodAdmin || op.Features.MarkupPercent != 7.5 || op.Features.MaxRunningPods != 0 || !op.Features.AllowsGPU("MI300X-OAM-192GB") {
		t.Fatalf("an admin's terms = %+v, %v; want the operator's", op, err)
	}
}
