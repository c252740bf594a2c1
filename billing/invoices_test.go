package billing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/stripetest"
)

// twenty is $2.00 an hour under a 20 % markup: $2.40 an hour.
var twenty = pods.Rate{ProviderHour: money.MustParse("2.00"), MarkupBps: 2000}

// use records pod id of owner as having run the minutes up to now and
// charges its usage to the owner's ledger.
func (f *fixture) use(t *testing.T, id, owner string, minutes int) {
	t.Helper()
	end := f.clock.Now()
	ran(t, f.st, id, owner, "lambda-h100", twenty, end.Add(-time.Duration(minutes)*time.Minute), end)
	if _, err := billing.Settle(context.Background(), f.st, f.st, "acme", end, nil); err != nil {
		t.Fatal(err)
	}
}

// credit buys prepaid credit for user.
func (f *fixture) credit(t *testing.T, user, ref, amount string) {
	t.Helper()
	if _, err := f.st.Post(context.Background(), billing.Posting{TenantID: "acme", UserID: user, Reference: ref, At: f.clock.Now(),
		Add: money.MustParse(amount), Kind: billing.KindCredit}); err != nil {
		t.Fatal(err)
	}
}

// saveCard makes user a customer of the Mock with card number as default.
func (f *fixture) saveCard(t *testing.T, user, number string) {
	t.Helper()
	ctx := context.Background()
	setup, err := f.svc.StartSetup(ctx, f.sandbox, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmSetup(ctx, f.sandbox, user, setup.SetupIntent, number); err != nil {
		t.Fatal(err)
	}
}

// invoice runs the invoicing job at the clock's time.
func (f *fixture) invoice(t *testing.T) billing.Invoicing {
	t.Helper()
	got, err := f.svc.InvoicePayg(context.Background(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) balance(t *testing.T, user string) money.Amount {
	t.Helper()
	b, err := f.st.Balance(context.Background(), "acme", user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWithTheMockPayAsYouGoIsInvoicedPaidAndPostedOnce: usage beyond
// credit is owed pay-as-you-go; when the month ends the invoicing job
// bills it as one mock invoice item on an invoice made, finalized and paid
// with the default card, recorded and mailed once; the payment brings the
// balance back to zero; running the job again, or reporting the invoice
// again, changes nothing; a card refusing payments leaves the invoice
// open; another user's invoice is not found; on both backends.
func TestWithTheMockPayAsYouGoIsInvoicedPaidAndPostedOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			f.saveCard(t, "ana", "4242 4242 4242 4242")
			f.saveCard(t, "bo", "4000 0000 0000 9995")
			f.credit(t, "ana", "pi_ana_1", "2.00")
			f.use(t, "pod-a1", "ana", 90) // $3.60
			f.use(t, "pod-a2", "ana", 90)
			f.use(t, "pod-b1", "bo", 60) // $2.40
			if b := f.balance(t, "ana"); b != money.MustParse("-5.20") {
				t.Fatalf("ana's balance %s; want 2 - 7.20", b)
			}
			up, err := f.svc.UpcomingInvoice(ctx, f.sandbox, "ana")
			if err != nil || up.Invoice != nil || up.Uninvoiced != money.MustParse("5.20") || up.Total != up.Uninvoiced || up.Backend != billing.BackendMock {
				t.Fatalf("upcoming = %+v, %v", up, err)
			}

			if got := f.invoice(t); got.Period != "2031-02" || got.Claimed != 0 || got.Billed != 0 {
				t.Fatalf("mid-month run = %+v; the month has not ended", got)
			}
			f.clock.Advance(31 * 24 * time.Hour) // 2031-04-01 12:00
			if got := f.invoice(t); got.Period != "2031-03" || got.Claimed != 2 || got.Billed != 2 {
				t.Fatalf("run after the month = %+v", got)
			}
			page, err := f.svc.Invoices(ctx, f.sandbox, "ana", "", 0)
			if err != nil || len(page.Invoices) != 1 {
				t.Fatalf("ana's invoices = %+v, %v", page, err)
			}
			inv := page.Invoices[0]
			if inv.Status != billing.InvoicePaid || !inv.Mock || inv.Backend != billing.BackendMock || inv.AmountDue != money.MustParse("5.20") ||
				inv.AmountPaid != inv.AmountDue || !strings.HasPrefix(inv.Number, "MOCK-") || !strings.HasPrefix(inv.ID, "mock_in_") ||
				len(inv.Lines) != 1 || !strings.HasPrefix(inv.Lines[0].InvoiceItem, "mock_ii_") || inv.Lines[0].Amount != inv.AmountDue {
				t.Fatalf("ana's invoice = %+v", inv)
			}
			if b := f.balance(t, "ana"); b != 0 {
				t.Fatalf("ana's balance %s after the invoice was paid; want 0", b)
			}
			entries, _ := f.st.Entries(ctx, "acme", "ana", 0)
			if e := entries[0]; e.Kind != billing.KindPayment || e.Reference != "invoice:"+inv.ID || e.Amount != money.MustParse("5.20") {
				t.Fatalf("latest entry %+v; want the invoice's payment", e)
			}
			mails := f.mails.to("ana@acme.test")
			if len(mails) != 1 || mails[0].kind != mail.KindInvoice {
				t.Fatalf("mail to ana = %+v; want the invoice once", mails)
			}
			if m := mails[0].data.(mail.Invoice); m.Number != inv.Number || !strings.HasSuffix(m.Link, "/api/v1/billing/invoices/"+inv.ID) ||
				!strings.HasPrefix(m.Total, "USD 5.20") || !strings.Contains(m.Total, "mock") {
				t.Fatalf("invoice mail = %+v", m)
			}

			// Again: the job, and the report of the paid invoice.
			if got := f.invoice(t); got.Claimed != 0 || got.Billed != 0 {
				t.Fatalf("second run = %+v; want nothing", got)
			}
			if err := f.svc.RecordInvoice(ctx, f.sandbox, inv); err != nil {
				t.Fatal(err)
			}
			open := inv
			open.Status = billing.InvoiceOpen // a late report of the finalization
			if err := f.svc.RecordInvoice(ctx, f.sandbox, open); err != nil {
				t.Fatal(err)
			}
			if again, _ := f.svc.Invoice(ctx, f.sandbox, "ana", inv.ID); again.Status != billing.InvoicePaid {
				t.Fatalf("a late report moved the invoice back to %s", again.Status)
			}
			if n := len(f.mails.to("ana@acme.test")); n != 1 || f.balance(t, "ana") != 0 {
				t.Fatalf("%d mails, balance %s after the reports again", n, f.balance(t, "ana"))
			}

			bos, _ := f.svc.Invoices(ctx, f.sandbox, "bo", "", 0)
			if len(bos.Invoices) != 1 || bos.Invoices[0].Status != billing.InvoiceOpen || bos.Invoices[0].AmountPaid != 0 {
				t.Fatalf("bo's invoices = %+v; his card refuses payments", bos)
			}
			if b := f.balance(t, "bo"); b != money.MustParse("-2.40") {
				t.Fatalf("bo's balance %s; an unpaid invoice pays nothing", b)
			}
			if m := f.mails.to("bo@acme.test"); len(m) != 1 {
				t.Fatalf("mail to bo = %+v; want the open invoice once", m)
			}
			if _, err := f.svc.Invoice(ctx, f.sandbox, "bo", inv.ID); fault.KindOf(err) != fault.KindNotFound {
				t.Fatalf("bo reads ana's invoice: %v", err)
			}
			// Paid later (as a webhook would report): the payment is posted.
			paid := bos.Invoices[0]
			paid.Status, paid.AmountPaid = billing.InvoicePaid, paid.AmountDue
			if err := f.svc.RecordInvoice(ctx, f.sandbox, paid); err != nil {
				t.Fatal(err)
			}
			if b := f.balance(t, "bo"); b != 0 || len(f.mails.to("bo@acme.test")) != 2 {
				t.Fatalf("bo's balance %s after paying; mails %d", b, len(f.mails.to("bo@acme.test")))
			}
		})
	}
}

// TestInvoicingAtOnceBillsEachUserOnce: twenty invoicing runs racing over
// the same owed pay-as-you-go make one item and one invoice per user, and
// post one payment.
func TestInvoicingAtOnceBillsEachUserOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			f.saveCard(t, "ana", "4242 4242 4242 4242")
			for _, id := range []string{"p1", "p2", "p3"} {
				f.use(t, id, "ana", 30)
			}
			f.clock.Advance(31 * 24 * time.Hour)
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := f.svc.InvoicePayg(ctx, f.clock.Now()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			items, err := f.st.PaygItems(ctx, "acme", "ana")
			if err != nil || len(items) != 1 || items[0].Amount != money.MustParse("3.60") || items[0].Status != billing.PaygBilled {
				t.Fatalf("items = %+v, %v", items, err)
			}
			c, _ := f.st.BillingCustomer(ctx, "acme", "ana", f.sandbox.Mode)
			objs, _ := f.st.MockObjectsOf(ctx, "acme", c.ID)
			made := map[string]int{}
			for _, o := range objs {
				made[o.Object]++
			}
			if made["invoiceitem"] != 1 || made["invoice"] != 1 {
				t.Fatalf("the Mock made %v; want one invoice item and one invoice", made)
			}
			page, _ := f.svc.Invoices(ctx, f.sandbox, "ana", "", 0)
			if len(page.Invoices) != 1 || f.balance(t, "ana") != 0 || len(f.mails.to("ana@acme.test")) != 1 {
				t.Fatalf("%d invoices, balance %s, %d mails", len(page.Invoices), f.balance(t, "ana"), len(f.mails.to("ana@acme.test")))
			}
		})
	}
}

// TestLedgerReconcilesWithInvoices: over three months of credit bought,
// usage, and invoicing runs (one user paying by card, one whose card
// refuses payments, one whose items join a subscription's renewal that a
// webhook reports paid), for every user the ledger's pay-as-you-go equals
// what the items billed plus what is not billed yet, each item is the
// processor's invoice item in cents, and the payments equal the paid
// invoices' pay-as-you-go; on both backends.
func TestLedgerReconcilesWithInvoices(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			ctx := context.Background()
			now := f.clock.Now()
			if err := f.st.CreateUser(ctx, auth.User{ID: "cy", TenantID: "acme", Email: "cy@acme.test", Name: "Cy", Role: actor.RoleUser,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			f.saveCard(t, "ana", "4242 4242 4242 4242")
			f.saveCard(t, "bo", "4000 0000 0000 9995")
			f.saveCard(t, "cy", "5555 5555 5555 4444")
			if _, err := f.svc.Subscribe(ctx, f.sandbox, "cy", billing.Pro, billing.Monthly); err != nil {
				t.Fatal(err)
			}
			users := []string{"ana", "bo", "cy"}
			n := 0
			for month := range 3 {
				for i, u := range users {
					if month != 1 || u != "bo" {
						f.credit(t, u, u+"-credit-"+string(rune('a'+month)), "1.00")
					}
					for range i + 1 {
						n++
						f.use(t, "pod-"+string(rune('a'+n%26))+string(rune('a'+n/26)), u, 25+7*n)
					}
				}
				f.clock.Advance(10 * 24 * time.Hour)
				f.invoice(t) // mid-month: bills the month before only
				f.clock.Advance(21 * 24 * time.Hour)
				f.invoice(t)
				f.invoice(t)
			}
			f.use(t, "pod-late", "ana", 40) // not billed yet

			// The Mock renews no subscription: cy's renewal is reported as
			// Stripe's invoice.paid webhook would, holding his items.
			cyItems, _ := f.st.PaygItems(ctx, "acme", "cy")
			if len(cyItems) == 0 {
				t.Fatal("cy has no items")
			}
			renewal := billing.Invoice{ID: "in_renewal_cy", Customer: cyItems[0].ItemID, Status: billing.InvoicePaid, Currency: "usd",
				Lines: []billing.InvoiceLine{{ID: "il_sub", Description: "PRO", Amount: money.MustParse("29"), Currency: "usd"}}}
			c, _ := f.st.BillingCustomer(ctx, "acme", "cy", f.sandbox.Mode)
			renewal.Customer = c.ID
			for _, it := range cyItems {
				if it.InvoiceID != "" || it.Status != billing.PaygBilled {
					t.Fatalf("cy's item %+v; want billed onto the subscription's next invoice", it)
				}
				renewal.Lines = append(renewal.Lines, billing.InvoiceLine{ID: "il_" + it.ItemID, InvoiceItem: it.ItemID, Amount: it.Amount, Currency: "usd"})
			}
			for _, l := range renewal.Lines {
				renewal.AmountDue += l.Amount
			}
			renewal.AmountPaid = renewal.AmountDue
			if err := f.svc.RecordInvoice(ctx, f.sandbox, renewal); err != nil {
				t.Fatal(err)
			}

			for _, u := range users {
				entries, err := f.st.Entries(ctx, "acme", u, 0)
				if err != nil {
					t.Fatal(err)
				}
				var payg, payments, sum money.Amount
				for _, e := range entries {
					sum += e.Amount
					switch e.Kind {
					case billing.KindUsagePayg:
						payg -= e.Amount
					case billing.KindPayment:
						payments += e.Amount
					}
				}
				items, _ := f.st.PaygItems(ctx, "acme", u)
				uninvoiced, _ := f.st.UnclaimedPayg(ctx, "acme", u)
				var billed, paidPayg money.Amount
				cust, _ := f.st.BillingCustomer(ctx, "acme", u, f.sandbox.Mode)
				objs, _ := f.st.MockObjectsOf(ctx, "acme", cust.ID)
				cents := map[string]int64{}
				for _, o := range objs {
					if o.Object == "invoiceitem" {
						var d struct{ Amount int64 }
						_ = json.Unmarshal(o.Data, &d)
						cents[o.ID] = d.Amount
					}
				}
				for _, it := range items {
					billed += it.Amount
					if want, _ := billing.ToMinor(it.Amount); it.Status != billing.PaygBilled || cents[it.ItemID] != want {
						t.Errorf("%s's item %+v: the processor's item is %d cents, want %d", u, it, cents[it.ItemID], want)
					}
					if it.InvoiceID == "" {
						continue
					}
					inv, err := f.st.Invoice(ctx, "acme", it.InvoiceID)
					if err != nil {
						t.Fatal(err)
					}
					if inv.Status == billing.InvoicePaid {
						paidPayg += it.Amount
					}
				}
				if payg == 0 || payg != billed+uninvoiced {
					t.Errorf("%s: the ledger's pay-as-you-go %s; items billed %s + not billed %s", u, payg, billed, uninvoiced)
				}
				if payments != paidPayg {
					t.Errorf("%s: payments %s; paid invoices' pay-as-you-go %s", u, payments, paidPayg)
				}
				if bal := f.balance(t, u); bal != sum {
					t.Errorf("%s: balance %s, entries add up to %s", u, bal, sum)
				}
				t.Logf("%s: payg %s = billed %s + unbilled %s; payments %s; %d items", u, payg, billed, uninvoiced, payments, len(items))
			}
			if ana, _ := f.st.PaygItems(ctx, "acme", "ana"); len(ana) != 3 {
				t.Errorf("ana has %d items; want one a month", len(ana))
			}
			if bo := f.balance(t, "bo"); bo >= 0 {
				t.Errorf("bo's balance %s; his invoices are unpaid", bo)
			}
			if up, err := f.svc.UpcomingInvoice(ctx, f.sandbox, "cy"); err != nil || up.Invoice == nil || up.Invoice.Subscription == "" {
				t.Errorf("cy's upcoming invoice = %+v, %v; want the renewal", up, err)
			}
		})
	}
}

// TestWithStripePayAsYouGoIsRetriedWithTheSameKeys: against stripe-mock,
// the month's pay-as-you-go of a user without a subscription becomes an
// invoice, its item (in cents) and its finalization, each with a key
// derived from the user and month; when Stripe is unavailable the item
// stays claimed and the next run makes it with the same keys; a run after
// that sends nothing.
func TestWithStripePayAsYouGoIsRetriedWithTheSameKeys(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	sc := params.Scope{TenantID: "acme", Mode: mode.Sandbox}
	f.set(t, sc, "stripe.secret_key", "sk_test_acme")
	f.set(t, sc, "stripe.api_url", stripetest.URL(t))
	f.set(t, sc, "stripe.max_network_retries", "0")
	f.use(t, "pod-s1", "ana", 90)
	f.clock.Advance(31 * 24 * time.Hour)
	down := true
	f.rec.answer = func(r *http.Request, _ int) (*http.Response, error, bool) {
		if down && r.URL.Path == "/v1/invoiceitems" {
			return stripeError(r, 503, `{"error":{"type":"api_error","message":"down"}}`), nil, true
		}
		return nil, nil, false
	}
	if got, err := f.svc.InvoicePayg(ctx, f.clock.Now()); err == nil || got.Claimed != 1 || got.Billed != 0 {
		t.Fatalf("run while Stripe is down = %+v, %v", got, err)
	}
	down = false
	if got, err := f.svc.InvoicePayg(ctx, f.clock.Now()); err != nil || got.Claimed != 0 || got.Billed != 1 {
		t.Fatalf("run after = %+v, %v", got, err)
	}
	items := f.rec.sent(http.MethodPost, "/v1/invoiceitems")
	if len(items) != 2 || items[0].key != "gpubroker-payg-acme-ana-2031-03" || items[1].key != items[0].key {
		t.Fatalf("invoice item requests %+v; want the failed one retried with its key", items)
	}
	wantForm(t, items[1], map[string]string{"amount": "360", "currency": "usd"})
	invs := f.rec.sent(http.MethodPost, "/v1/invoices")
	if len(invs) != 2 || invs[0].key != "gpubroker-payg-acme-ana-2031-03-invoice" || invs[1].key != invs[0].key {
		t.Fatalf("invoice requests %+v", invs)
	}
	if it := items[1].form.Get("invoice"); it == "" || len(f.rec.sent(http.MethodPost, "/v1/invoices/"+it+"/finalize")) != 1 {
		t.Fatalf("the item's invoice %q was not finalized once", it)
	}
	page, err := f.svc.Invoices(ctx, f.sandbox, "ana", "", 0)
	if err != nil || len(page.Invoices) != 1 || page.Invoices[0].Backend != billing.BackendStripe || page.Invoices[0].Mock {
		t.Fatalf("ana's invoices = %+v, %v", page, err)
	}
	if got, err := f.svc.InvoicePayg(ctx, f.clock.Now()); err != nil || got.Billed != 0 || len(f.rec.sent(http.MethodPost, "/v1/invoiceitems")) != 2 {
		t.Fatalf("a third run = %+v, %v; want nothing sent", got, err)
	}
}
