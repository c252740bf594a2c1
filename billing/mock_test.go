package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

// mockCustomer makes a customer at acme's Mock account with a card saved
// from number, and the PRO and ENTERPRISE monthly prices.
func mockCustomer(t *testing.T, f *fixture, number string) (*billing.MockAccount, string, map[string]billing.Price) {
	t.Helper()
	ctx := context.Background()
	acct, err := f.mock.Account(f.sandbox)
	if err != nil {
		t.Fatal(err)
	}
	cus, err := acct.EnsureCustomer(ctx, billing.CustomerRequest{TenantID: "acme", UserID: "ana", Email: "ana@acme.test", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	si, err := acct.CreateSetupIntent(ctx, cus)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acct.ConfirmSetup(ctx, cus, si.ID, number); err != nil {
		t.Fatal(err)
	}
	prices := map[string]billing.Price{}
	for _, p := range []struct {
		plan   billing.PlanID
		amount string
	}{{billing.Pro, "30"}, {billing.Enterprise, "200"}} {
		if _, err := acct.EnsureProduct(ctx, billing.ProductSpec{ID: billing.ProductID(p.plan), Name: p.plan.Name()}); err != nil {
			t.Fatal(err)
		}
		pr, err := acct.CreatePrice(ctx, billing.PriceSpec{Product: billing.ProductID(p.plan), LookupKey: billing.LookupKey(p.plan, billing.Monthly),
			Amount: money.MustParse(p.amount), Currency: "usd", Interval: billing.Monthly})
		if err != nil {
			t.Fatal(err)
		}
		prices[string(p.plan)] = pr
	}
	return acct, cus, prices
}

func TestMockTestCardsBehaveAsStripes(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	acct, err := f.mock.Account(f.sandbox)
	if err != nil {
		t.Fatal(err)
	}
	cus, err := acct.EnsureCustomer(ctx, billing.CustomerRequest{TenantID: "acme", UserID: "ana", Email: "ana@acme.test", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, number      string
		code, declineCode string
		brand             string
	}{
		{"4242 4242 4242 4242 is saved", "4242 4242 4242 4242", "", "", "visa"},
		{"5555 5555 5555 4444 is saved", "5555-5555-5555-4444", "", "", "mastercard"},
		{"4000 0000 0000 0002 is declined", "4000 0000 0000 0002", "card_declined", "generic_decline", ""},
		{"4000 0000 0000 9995 is saved (its payments fail)", "4000000000009995", "", "", "visa"},
		{"a number failing the Luhn check is incorrect", "4242 4242 4242 4241", "incorrect_number", "", ""},
		{"a real card is refused in test mode", "4111 1111 1111 1111", "card_declined", "test_mode_live_card", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			si, err := acct.CreateSetupIntent(ctx, cus)
			if err != nil || !strings.HasPrefix(si.ID, "mock_seti_") || !strings.HasPrefix(si.ClientSecret, si.ID+"_secret_") {
				t.Fatalf("setup intent = %+v, %v", si, err)
			}
			pm, err := acct.ConfirmSetup(ctx, cus, si.ID, c.number)
			var d *billing.Decline
			switch {
			case c.code == "" && (err != nil || pm.Brand != c.brand || !strings.HasPrefix(pm.ID, "mock_pm_") || pm.Last4 != c.number[len(c.number)-4:]):
				t.Fatalf("confirm = %+v, %v; want a %s card saved", pm, err, c.brand)
			case c.code != "" && (!errors.As(err, &d) || d.Code != c.code || d.DeclineCode != c.declineCode):
				t.Fatalf("confirm = %+v, %v; want %s (%s)", pm, err, c.code, c.declineCode)
			}
		})
	}
	t.Run("a setup is confirmed once", func(t *testing.T) {
		si, _ := acct.CreateSetupIntent(ctx, cus)
		if _, err := acct.ConfirmSetup(ctx, cus, si.ID, "4242424242424242"); err != nil {
			t.Fatal(err)
		}
		_, err := acct.ConfirmSetup(ctx, cus, si.ID, "4242424242424242")
		if fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("second confirm = %v", err)
		}
	})
	t.Run("another customer's setup is not found", func(t *testing.T) {
		si, _ := acct.CreateSetupIntent(ctx, cus)
		_, err := acct.ConfirmSetup(ctx, "mock_cus_other", si.ID, "4242424242424242")
		if fault.KindOf(err) != fault.KindNotFound {
			t.Fatalf("confirm = %v", err)
		}
	})
	t.Run("what is not a card number is invalid", func(t *testing.T) {
		si, _ := acct.CreateSetupIntent(ctx, cus)
		_, err := acct.ConfirmSetup(ctx, cus, si.ID, "4242-abc")
		if fe, ok := fault.As(err); !ok || fe.Kind != fault.KindInvalid || fe.Problems[0].Field != "card_number" {
			t.Fatalf("confirm = %v", err)
		}
	})
}

func TestMockChargesTheFirstPeriodAndDeclinesInsufficientFunds(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	acct, cus, prices := mockCustomer(t, f, "4242424242424242")
	sub, err := acct.CreateSubscription(ctx, billing.SubscriptionRequest{Customer: cus, Price: prices["pro"].ID, IdempotencyKey: "sub-1"})
	if err != nil || !sub.Paid || sub.Status != billing.Active || !strings.HasPrefix(sub.ID, "mock_sub_") ||
		!sub.PeriodStart.Equal(f.clock.Now()) || !sub.PeriodEnd.Equal(f.clock.Now().AddDate(0, 1, 0)) {
		t.Fatalf("subscription = %+v, %v", sub, err)
	}
	again, err := acct.CreateSubscription(ctx, billing.SubscriptionRequest{Customer: cus, Price: prices["pro"].ID, IdempotencyKey: "sub-1"})
	if err != nil || again.ID != sub.ID {
		t.Fatalf("the same key again = %+v, %v; want the first subscription", again, err)
	}
	if n := count(t, f, `object = 'invoice' AND status = 'paid'`); n != 1 {
		t.Fatalf("paid invoices = %d, want the first period paid once", n)
	}

	poor, poorCus, _ := mockCustomer(t, f, "4000000000009995")
	if poorCus != cus {
		t.Fatalf("the same user got a second customer %s", poorCus)
	}
	_, err = poor.CreateSubscription(ctx, billing.SubscriptionRequest{Customer: cus, Price: prices["enterprise"].ID, IdempotencyKey: "sub-2"})
	var d *billing.Decline
	if !errors.As(err, &d) || d.Code != "card_declined" || d.DeclineCode != "insufficient_funds" {
		t.Fatalf("subscription with 9995 = %v, want insufficient_funds", err)
	}
	if n := count(t, f, `object = 'invoice' AND status = 'open'`); n != 1 {
		t.Fatalf("unpaid invoices = %d, want the refused payment recorded", n)
	}
	if n := count(t, f, `object = 'subscription'`); n != 1 {
		t.Fatalf("subscriptions = %d, want none made for the refused payment", n)
	}
	if _, err := acct.CreateInvoiceItem(ctx, billing.InvoiceItem{Customer: cus, Amount: money.MustParse("1.005"), Currency: "usd",
		Description: "usage", IdempotencyKey: "ii-1"}); err != nil {
		t.Fatal(err)
	}

	t.Run("every object the Mock made is marked mock", func(t *testing.T) {
		rows, err := f.st.DB().QueryContext(ctx, `SELECT id, object, data, mock FROM billing_mock_objects`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id, object, data string
			var mock bool
			if err := rows.Scan(&id, &object, &data, &mock); err != nil {
				t.Fatal(err)
			}
			var flag struct {
				Mock bool `json:"mock"`
			}
			if err := json.Unmarshal([]byte(data), &flag); err != nil || !flag.Mock || !mock || !strings.HasPrefix(id, "mock_") {
				t.Errorf("%s %s: mock %v, data %s", object, id, mock, data)
			}
			n++
		}
		if n < 8 {
			t.Fatalf("only %d objects", n)
		}
	})
}

func count(t *testing.T, f *fixture, where string) int {
	t.Helper()
	var n int
	if err := f.st.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM billing_mock_objects WHERE `+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMockProratesAChangeOfPrice(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	acct, cus, prices := mockCustomer(t, f, "4242424242424242")
	sub, err := acct.CreateSubscription(ctx, billing.SubscriptionRequest{Customer: cus, Price: prices["pro"].ID, IdempotencyKey: "sub-1"})
	if err != nil {
		t.Fatal(err)
	}
	period := sub.PeriodEnd.Sub(sub.PeriodStart) // March: 31 days
	f.clock.Advance(period / 4)
	up, err := acct.ChangeSubscription(ctx, billing.ChangeRequest{ID: sub.ID, Item: sub.Item, Price: prices["enterprise"].ID, IdempotencyKey: "up"})
	if err != nil || !up.Paid || !up.PeriodEnd.Equal(sub.PeriodEnd) {
		t.Fatalf("upgrade = %+v, %v", up, err)
	}
	// Three quarters of the period remain: (200 - 30) × 3/4 = 127.50.
	var inv struct {
		AmountDue int64 `json:"amount_due"`
	}
	o, err := f.st.MockObjectByKey(ctx, "acme", "up")
	if err != nil || json.Unmarshal(o.Data, &inv) != nil || inv.AmountDue != 12750 || o.Status != "paid" {
		t.Fatalf("proration invoice = %+v %s, %v; want 127.50 paid", o, o.Data, err)
	}
	f.clock.Advance(period / 4)
	down, err := acct.ChangeSubscription(ctx, billing.ChangeRequest{ID: sub.ID, Item: sub.Item, Price: prices["pro"].ID, IdempotencyKey: "down"})
	if err != nil || !down.Paid {
		t.Fatalf("downgrade = %+v, %v", down, err)
	}
	var credit struct {
		Amount int64 `json:"amount"`
	}
	o, err = f.st.MockObjectByKey(ctx, "acme", "down")
	if err != nil || o.Object != "invoiceitem" || json.Unmarshal(o.Data, &credit) != nil || credit.Amount != -8500 {
		t.Fatalf("downgrade credit = %+v %s, %v; want -85.00 on the next invoice", o, o.Data, err)
	}
	canceled, err := acct.CancelAtPeriodEnd(ctx, sub.ID, "c")
	if err != nil || !canceled.CancelAtPeriodEnd || canceled.Status != billing.Active {
		t.Fatalf("cancel = %+v, %v", canceled, err)
	}
}

func TestMockServesOnlySandboxTenants(t *testing.T) {
	f := newFixture(t, "sqlite")
	_, err := f.mock.Account(f.live)
	if fault.KindOf(err) != fault.KindForbidden || !strings.Contains(err.Error(), "SANDBOX") {
		t.Fatalf("a LIVE tenant's account = %v", err)
	}
}
