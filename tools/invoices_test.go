package tools_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// TestInvoiceToolsShowOnlyTheCallersInvoices: list_invoices pages the
// caller's invoices newest first, get_invoice finds another user's as not
// found, upcoming_invoice counts the pay-as-you-go not billed yet, and an
// API token reads no one's. Recording each open invoice queued its mail
// through the real mail service.
func TestInvoiceToolsShowOnlyTheCallersInvoices(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	ana := platformtest.AcmeUser
	now := time.Now().UTC().Truncate(time.Microsecond)
	p.Person(t, "acme", ana.ID, "ana@acme.test", "Ana", actor.RoleUser)
	p.Person(t, "acme", "bo", "bo@acme.test", "Bo", actor.RoleUser)
	acme := tenant.Tenant{ID: "acme", Mode: mode.Sandbox}
	for i, id := range []string{"in_1", "in_2", "in_3", "in_bo"} {
		user := ana.ID
		if id == "in_bo" {
			user = "bo"
		}
		inv := billing.Invoice{ID: id, UserID: user, Mode: mode.Sandbox, Backend: billing.BackendStripe, Customer: "cus_" + user, Number: id,
			Status: billing.InvoiceOpen, AmountDue: money.MustParse("4.20"), Currency: "usd", HostedURL: "https://invoice.stripe.com/i/" + id,
			PDFURL: "https://pay.stripe.com/" + id + ".pdf", CreatedAt: now.Add(time.Duration(i) * time.Hour)}
		if err := p.Billing.RecordInvoice(ctx, acme, inv); err != nil {
			t.Fatal(err)
		}
	}
	call := func(who actor.Actor, tool, input string) tools.Result {
		t.Helper()
		return p.Registry.Call(ctx, tools.Request{Actor: who, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
	}
	first := call(ana, tools.ToolListInvoices, `{"limit":2}`)
	page, ok := first.Output.(billing.InvoicePage)
	if first.Err != nil || !ok || len(page.Invoices) != 2 || page.Invoices[0].ID != "in_3" || page.Invoices[1].ID != "in_2" || page.Next != "in_2" {
		t.Fatalf("first page = %+v, %v", first.Output, first.Err)
	}
	rest := call(ana, tools.ToolListInvoices, `{"limit":2,"cursor":"in_2"}`)
	if page := rest.Output.(billing.InvoicePage); rest.Err != nil || len(page.Invoices) != 1 || page.Invoices[0].ID != "in_1" || page.Next != "" {
		t.Fatalf("second page = %+v, %v", rest.Output, rest.Err)
	}
	got := call(ana, tools.ToolGetInvoice, `{"id":"in_1"}`)
	if inv, ok := got.Output.(billing.Invoice); got.Err != nil || !ok || inv.HostedURL == "" || inv.PDFURL == "" {
		t.Fatalf("get_invoice = %+v, %v", got.Output, got.Err)
	}
	if res := call(ana, tools.ToolGetInvoice, `{"id":"in_bo"}`); fault.KindOf(res.Err) != fault.KindNotFound {
		t.Fatalf("another user's invoice = %v", res.Err)
	}
	if res := call(ana, tools.ToolListInvoices, `{"cursor":"in_bo"}`); fault.KindOf(res.Err) != fault.KindInvalid {
		t.Fatalf("a cursor of another user's invoice = %v", res.Err)
	}
	token := actor.Actor{Kind: actor.KindToken, ID: "tok_1", TenantID: "acme", Role: actor.RoleUser}
	if res := call(token, tools.ToolListInvoices, `{}`); fault.KindOf(res.Err) != fault.KindForbidden {
		t.Fatalf("an API token's invoices = %v", res.Err)
	}
	up := call(ana, tools.ToolUpcomingInvoice, `{}`)
	if u, ok := up.Output.(billing.Upcoming); up.Err != nil || !ok || u.Backend != billing.BackendMock || u.Invoice != nil || u.Total != 0 {
		t.Fatalf("upcoming_invoice = %+v, %v", up.Output, up.Err)
	}
}
