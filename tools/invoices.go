package tools

import (
	"context"
	"net/http"
	"strings"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
)

// Tool names of invoices.
const (
	ToolListInvoices    = "list_invoices"
	ToolGetInvoice      = "get_invoice"
	ToolUpcomingInvoice = "upcoming_invoice"
)

// invoiceTools are the invoice tools of the billing toolset.
func invoiceTools(s BillingServices) []listed {
	return []listed{listInvoices(s), getInvoice(s), upcomingInvoice(s)}
}

// ListInvoicesInput is the input of list_invoices.
type ListInvoicesInput struct {
	Cursor string `json:"cursor,omitempty" jsonschema:"the next_cursor of the page before; the newest invoices when empty"`
	Limit  int    `json:"limit,omitempty" jsonschema:"at most this many invoices (default 50, max 100)"`
}

// Validate implements Validator.
func (in *ListInvoicesInput) Validate() error {
	if in.Limit < 0 || in.Limit > 100 {
		return fault.Invalid("limit", "want 0 to 100, got %d", in.Limit)
	}
	return nil
}

func listInvoices(s BillingServices) Def[ListInvoicesInput, billing.InvoicePage] {
	return Def[ListInvoicesInput, billing.InvoicePage]{
		Name: ToolListInvoices, Title: "List my invoices", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "List your invoices, newest first: number, status (draft, open, paid, uncollectible, void), amount due and paid, " +
			"currency, period, lines, and the processor's page and PDF. Pay-as-you-go usage beyond prepaid credit is billed once " +
			"a month; with the mock processor (SANDBOX) every invoice says mock and nothing is charged for real. Page with next_cursor.",
		Method: http.MethodGet, Path: "/billing/invoices",
		Handle: func(ctx context.Context, c *Call, in *ListInvoicesInput) (billing.InvoicePage, error) {
			who, err := payer(c)
			if err != nil {
				return billing.InvoicePage{}, err
			}
			return s.Billing.Invoices(ctx, c.Tenant, who, in.Cursor, in.Limit)
		},
	}
}

// InvoiceRef names one invoice.
type InvoiceRef struct {
	ID string `json:"id" jsonschema:"the invoice id list_invoices answered (in_… with Stripe, mock_in_… with the mock)"`
}

// Validate implements Validator.
func (in *InvoiceRef) Validate() error {
	if in.ID = strings.TrimSpace(in.ID); in.ID == "" {
		return fault.Invalid("id", "give the invoice id list_invoices answered")
	}
	return nil
}

func getInvoice(s BillingServices) Def[InvoiceRef, billing.Invoice] {
	return Def[InvoiceRef, billing.Invoice]{
		Name: ToolGetInvoice, Title: "Show an invoice", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "One of your invoices with its lines, the processor's hosted page (hosted_invoice_url, where an open invoice " +
			"is paid) and its PDF (invoice_pdf). Another user's invoice is not found.",
		Method: http.MethodGet, Path: "/billing/invoices/{id}",
		Handle: func(ctx context.Context, c *Call, in *InvoiceRef) (billing.Invoice, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Invoice{}, err
			}
			return s.Billing.Invoice(ctx, c.Tenant, who, in.ID)
		},
	}
}

// UpcomingInvoiceInput is the input of upcoming_invoice.
type UpcomingInvoiceInput struct{}

func upcomingInvoice(s BillingServices) Def[UpcomingInvoiceInput, billing.Upcoming] {
	return Def[UpcomingInvoiceInput, billing.Upcoming]{
		Name: ToolUpcomingInvoice, Title: "Preview my next invoice", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true,
		OpenWorld: true,
		Description: "What your next invoice would hold as of now: the processor's preview (your subscription's renewal and the " +
			"items waiting for it) and the pay-as-you-go usage beyond prepaid credit not billed yet, which is billed when the " +
			"calendar month (UTC) ends.",
		Method: http.MethodGet, Path: "/billing/upcoming-invoice",
		Handle: func(ctx context.Context, c *Call, _ *UpcomingInvoiceInput) (billing.Upcoming, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Upcoming{}, err
			}
			return s.Billing.UpcomingInvoice(ctx, c.Tenant, who)
		},
	}
}
