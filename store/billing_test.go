package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/store"
)

// testBillingRecords: a user's customer is one per mode and replaced when
// the backend changes; a payment method saved becomes the one default;
// a user holds one subscription that is not canceled, changed only on the
// revision read, and a subscription the processor never made can be
// given up while one it made cannot.
func testBillingRecords(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "ana")
	mkUser(t, s, "acme", "bo")
	now := time.Now().UTC().Truncate(time.Microsecond)

	_, err := s.BillingCustomer(ctx, "acme", "ana", mode.Sandbox)
	wantKind(t, err, fault.KindNotFound)
	c := billing.Customer{TenantID: "acme", UserID: "ana", Mode: mode.Sandbox, Backend: billing.BackendMock, Account: "mock:acme", ID: "mock_cus_1", CreatedAt: now}
	if err := s.PutBillingCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BillingCustomer(ctx, "acme", "ana", mode.Sandbox); err != nil || got != c {
		t.Fatalf("customer = %+v, %v; want %+v", got, err, c)
	}
	c.Backend, c.Account, c.ID = billing.BackendStripe, "stripe::abc", "cus_9"
	if err := s.PutBillingCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BillingCustomer(ctx, "acme", "ana", mode.Sandbox); err != nil || got != c {
		t.Fatalf("replaced customer = %+v, %v; want %+v", got, err, c)
	}
	_, err = s.BillingCustomer(ctx, "acme", "ana", mode.Live)
	wantKind(t, err, fault.KindNotFound)

	pm := func(id string) billing.PaymentMethod {
		return billing.PaymentMethod{ID: id, TenantID: "acme", UserID: "ana", Mode: mode.Sandbox, Backend: billing.BackendMock, Type: "card",
			Brand: "visa", Last4: "4242", Default: true, CreatedAt: now}
	}
	for _, id := range []string{"mock_pm_1", "mock_pm_2"} {
		if err := s.PutPaymentMethod(ctx, pm(id)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox); err != nil || got != pm("mock_pm_2") {
		t.Fatalf("default = %+v, %v; want the last saved", got, err)
	}
	if err := s.PutPaymentMethod(ctx, pm("mock_pm_1")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DefaultPaymentMethod(ctx, "acme", "ana", mode.Sandbox); err != nil || got.ID != "mock_pm_1" {
		t.Fatalf("default after saving the first again = %+v, %v", got, err)
	}
	_, err = s.DefaultPaymentMethod(ctx, "acme", "bo", mode.Sandbox)
	wantKind(t, err, fault.KindNotFound)

	sub := billing.Subscription{ID: "bsub_1", TenantID: "acme", UserID: "ana", Mode: mode.Sandbox, Backend: billing.BackendMock,
		Plan: billing.Pro, Interval: billing.Monthly, Status: billing.Incomplete, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	second := sub
	second.ID = "bsub_2"
	wantKind(t, s.CreateSubscription(ctx, second), fault.KindConflict)
	got, err := s.CurrentSubscription(ctx, "acme", "ana", mode.Sandbox)
	if err != nil || got.ID != "bsub_1" || got.Revision != 1 || got.PeriodStart != nil || got.Status != billing.Incomplete {
		t.Fatalf("current = %+v, %v", got, err)
	}
	end := now.Add(30 * 24 * time.Hour)
	got.Status, got.PeriodStart, got.PeriodEnd, got.BackendID, got.BackendItem = billing.Active, &now, &end, "mock_sub_1", "mock_si_1"
	got.PendingPlan, got.PendingInterval = billing.Enterprise, billing.Annual
	updated, err := s.UpdateSubscription(ctx, got)
	if err != nil || updated.Revision != 2 || updated.Status != billing.Active || !updated.PeriodEnd.Equal(end) ||
		updated.BackendID != "mock_sub_1" || updated.PendingPlan != billing.Enterprise || updated.PendingInterval != billing.Annual {
		t.Fatalf("updated = %+v, %v", updated, err)
	}
	_, err = s.UpdateSubscription(ctx, got) // revision 1 again
	wantKind(t, err, fault.KindConflict)
	if err := s.DeleteSubscription(ctx, "acme", "bsub_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscription(ctx, "acme", "bsub_1"); err != nil {
		t.Fatalf("a subscription the processor made was deleted: %v", err)
	}
	updated.Status = billing.Canceled
	if _, err := s.UpdateSubscription(ctx, updated); err != nil {
		t.Fatal(err)
	}
	_, err = s.CurrentSubscription(ctx, "acme", "ana", mode.Sandbox)
	wantKind(t, err, fault.KindNotFound)
	if err := s.CreateSubscription(ctx, second); err != nil {
		t.Fatalf("a new subscription beside a canceled one: %v", err)
	}
	if err := s.DeleteSubscription(ctx, "acme", "bsub_2"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Subscription(ctx, "acme", "bsub_2")
	wantKind(t, err, fault.KindNotFound)
}

// testMockObjects: the mock processor's objects are kept per tenant and
// marked mock; an idempotency key makes one object however often it is
// used; one price holds a lookup key until it is released.
func testMockObjects(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkTenant(t, s, "beta")
	now := time.Now().UTC().Truncate(time.Microsecond)
	obj := func(tenantID, id, object, key, lookup string) billing.MockObject {
		return billing.MockObject{ID: id, TenantID: tenantID, Object: object, IdempotencyKey: key, LookupKey: lookup, Status: "active",
			Data: []byte(`{"mock":true}`), CreatedAt: now, UpdatedAt: now}
	}
	first, created, err := s.CreateMockObject(ctx, obj("acme", "mock_cus_1", "customer", "k1", ""))
	if err != nil || !created {
		t.Fatalf("create = %v, %v", created, err)
	}
	again, created, err := s.CreateMockObject(ctx, obj("acme", "mock_cus_2", "customer", "k1", ""))
	if err != nil || created || again.ID != "mock_cus_1" {
		t.Fatalf("same key = %+v, %v, %v; want the first object", again, created, err)
	}
	if _, created, err := s.CreateMockObject(ctx, obj("beta", "mock_cus_1", "customer", "k1", "")); err != nil || !created {
		t.Fatalf("the same id and key in another tenant: %v, %v", created, err)
	}
	if got, err := s.MockObjectByKey(ctx, "acme", "k1"); err != nil || got.ID != first.ID || string(got.Data) != `{"mock":true}` {
		t.Fatalf("by key = %+v, %v", got, err)
	}
	_, err = s.MockObjectByKey(ctx, "acme", "")
	wantKind(t, err, fault.KindNotFound)
	for _, id := range []string{"mock_si_1", "mock_si_2"} { // no key: never collapsed
		if _, created, err := s.CreateMockObject(ctx, obj("acme", id, "setup_intent", "", "")); err != nil || !created {
			t.Fatalf("create %s: %v, %v", id, created, err)
		}
	}

	if _, _, err := s.CreateMockObject(ctx, obj("acme", "mock_price_1", "price", "p1", "gpubroker_pro_monthly")); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CreateMockObject(ctx, obj("acme", "mock_price_2", "price", "p2", "gpubroker_pro_monthly"))
	wantKind(t, err, fault.KindConflict)
	if err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.ReleaseMockLookupKey(ctx, "acme", "gpubroker_pro_monthly"); err != nil {
			return err
		}
		_, _, err := s.CreateMockObject(ctx, obj("acme", "mock_price_2", "price", "p2", "gpubroker_pro_monthly"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateMockObject(ctx, obj("acme", "mock_price_3", "price", "p3", "gpubroker_pro_annual")); err != nil {
		t.Fatal(err)
	}
	prices, err := s.MockPrices(ctx, "acme", []string{"gpubroker_pro_monthly", "gpubroker_pro_annual", "gpubroker_enterprise_annual"})
	if err != nil || len(prices) != 2 || prices[0].ID != "mock_price_3" || prices[1].ID != "mock_price_2" {
		t.Fatalf("prices = %+v, %v", prices, err)
	}
	if p, err := s.MockPrices(ctx, "beta", []string{"gpubroker_pro_monthly"}); err != nil || len(p) != 0 {
		t.Fatalf("another tenant's prices = %+v, %v", p, err)
	}

	first.Status, first.Data = "closed", []byte(`{"mock":true,"email":"a@b.test"}`)
	if err := s.UpdateMockObject(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, err := s.MockObject(ctx, "acme", "mock_cus_1"); err != nil || got.Status != "closed" || string(got.Data) != string(first.Data) {
		t.Fatalf("updated = %+v, %v", got, err)
	}
	_, err = s.MockObject(ctx, "beta", "mock_price_1")
	wantKind(t, err, fault.KindNotFound)

	var unmarked int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM billing_mock_objects WHERE NOT mock`).Scan(&unmarked); err != nil || unmarked != 0 {
		t.Fatalf("objects not marked mock: %d, %v", unmarked, err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO billing_mock_objects (tenant_id, id, object, data, mock, created_at, updated_at)
		VALUES ('acme', 'x', 'customer', '{}', FALSE, $1, $1)`, now); err == nil {
		t.Fatal("an object not marked mock was stored")
	}
}
