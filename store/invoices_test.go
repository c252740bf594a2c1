package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/store"
)

// testInvoices: an invoice's status only moves forward and a repeated
// report moves nothing; invoices page newest first by cursor; owed
// pay-as-you-go is claimed once per user and period, entry by entry.
func testInvoices(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Date(2031, 4, 1, 0, 0, 0, 0, time.UTC)
	inv := billing.Invoice{ID: "in_1", TenantID: "acme", UserID: "ana", Mode: mode.Live, Backend: billing.BackendStripe, Customer: "cus_1",
		Status: billing.InvoiceDraft, AmountDue: money.MustParse("5.20"), Currency: "usd", Lines: []billing.InvoiceLine{}, CreatedAt: now, UpdatedAt: now}
	for _, c := range []struct {
		status billing.InvoiceStatus
		moved  bool
	}{{billing.InvoiceDraft, true}, {billing.InvoiceDraft, false}, {billing.InvoiceOpen, true}, {billing.InvoiceDraft, false},
		{billing.InvoicePaid, true}, {billing.InvoicePaid, false}, {billing.InvoiceOpen, false}, {billing.InvoiceVoid, false}} {
		inv.Status = c.status
		if c.status == billing.InvoiceOpen {
			inv.Number, inv.HostedURL = "A-1", "https://invoice.stripe.com/i/1"
		} else {
			inv.Number, inv.HostedURL = "", ""
		}
		if moved, err := s.PutInvoice(ctx, inv); err != nil || moved != c.moved {
			t.Fatalf("report %s: moved %v, %v; want %v", c.status, moved, err, c.moved)
		}
	}
	got, err := s.Invoice(ctx, "acme", "in_1")
	if err != nil || got.Status != billing.InvoicePaid || got.Number != "A-1" || got.HostedURL == "" || got.AmountDue != money.MustParse("5.20") || got.Mock {
		t.Fatalf("invoice = %+v, %v", got, err)
	}
	for i := 2; i <= 4; i++ {
		inv.ID, inv.CreatedAt = "in_"+string(rune('0'+i)), now.Add(time.Duration(i)*time.Hour)
		if _, err := s.PutInvoice(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.Invoices(ctx, "acme", "ana", "in_3", 10)
	if err != nil || len(page) != 2 || page[0].ID != "in_2" || page[1].ID != "in_1" {
		t.Fatalf("after in_3 = %+v, %v", page, err)
	}

	charge := func(ref string, at time.Time, amount string) {
		t.Helper()
		if _, err := s.Post(ctx, billing.Posting{TenantID: "acme", UserID: "ana", Reference: ref, At: at, Charge: money.MustParse(amount)}); err != nil {
			t.Fatal(err)
		}
	}
	charge("usage:1", now.Add(-time.Hour), "1.50")
	charge("usage:2", now.Add(-time.Minute), "2.00")
	charge("usage:3", now.Add(time.Hour), "4.00") // the next month's
	owners, err := s.PaygOwners(ctx, now)
	if err != nil || len(owners) != 1 || owners[0].UserID != "ana" {
		t.Fatalf("owners = %+v, %v", owners, err)
	}
	item := billing.PaygItem{ID: "payg_1", TenantID: "acme", UserID: "ana", Period: "2031-03", Status: billing.PaygClaimed, CreatedAt: now, UpdatedAt: now}
	claimed, created, err := s.ClaimPayg(ctx, item, now)
	if err != nil || !created || claimed.Amount != money.MustParse("3.50") {
		t.Fatalf("claim = %+v %v, %v", claimed, created, err)
	}
	item.ID = "payg_2"
	if again, created, err := s.ClaimPayg(ctx, item, now); err != nil || created || again.ID != "payg_1" {
		t.Fatalf("claim again = %+v %v, %v", again, created, err)
	}
	if left, _ := s.UnclaimedPayg(ctx, "acme", "ana"); left != money.MustParse("4.00") {
		t.Fatalf("unclaimed %s; want the next month's 4.00", left)
	}
	if err := s.MarkPaygBilled(ctx, "payg_1", "ii_1", "", now); err != nil {
		t.Fatal(err)
	}
	linked, err := s.LinkPaygItems(ctx, "acme", "in_4", []string{"ii_1", "ii_other"}, now)
	if err != nil || len(linked) != 1 || linked[0].InvoiceID != "in_4" || linked[0].Status != billing.PaygBilled {
		t.Fatalf("linked = %+v, %v", linked, err)
	}
	if pending, _ := s.ClaimedPayg(ctx, 0); len(pending) != 0 {
		t.Fatalf("claimed and not billed: %+v", pending)
	}
}
