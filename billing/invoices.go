package billing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// InvoiceStatus is where an invoice stands, as Stripe names it.
type InvoiceStatus string

// Invoice states. An invoice moves draft → open → paid or void, and an
// open one may be marked uncollectible, then still be paid or voided.
const (
	InvoiceDraft         InvoiceStatus = "draft"
	InvoiceOpen          InvoiceStatus = "open"
	InvoiceUncollectible InvoiceStatus = "uncollectible"
	InvoicePaid          InvoiceStatus = "paid"
	InvoiceVoid          InvoiceStatus = "void"
)

// InvoiceStatuses lists every state, earliest first.
var InvoiceStatuses = []InvoiceStatus{InvoiceDraft, InvoiceOpen, InvoiceUncollectible, InvoicePaid, InvoiceVoid}

// Valid reports whether s is a known state.
func (s InvoiceStatus) Valid() bool { return slices.Contains(InvoiceStatuses, s) }

// rank orders the states; paid and void both end an invoice.
func (s InvoiceStatus) rank() int {
	switch s {
	case InvoiceDraft:
		return 0
	case InvoiceOpen:
		return 1
	case InvoiceUncollectible:
		return 2
	case InvoicePaid, InvoiceVoid:
		return 3
	}
	return -1
}

// Before lists the states an invoice may move from to s: the ones that
// come earlier. Webhooks arrive late, twice and out of order, so a record
// only ever moves forward.
func (s InvoiceStatus) Before() []InvoiceStatus {
	var out []InvoiceStatus
	for _, x := range InvoiceStatuses {
		if x.rank() < s.rank() {
			out = append(out, x)
		}
	}
	return out
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	ID string `json:"id"`
	// InvoiceItem is the invoice item the line bills, if it is one (a
	// subscription's own line is not).
	InvoiceItem string       `json:"invoice_item,omitempty"`
	Description string       `json:"description"`
	Amount      money.Amount `json:"amount"`
	Currency    string       `json:"currency"`
}

// Invoice is an invoice of a user's customer at a processor, as the
// platform records it. ID is the processor's id.
type Invoice struct {
	ID           string        `json:"id"`
	TenantID     string        `json:"tenant_id"`
	UserID       string        `json:"user_id"`
	Mode         mode.Mode     `json:"mode"`
	Backend      BackendKind   `json:"backend"`
	Customer     string        `json:"customer_id"`
	Subscription string        `json:"subscription_id,omitempty"`
	Number       string        `json:"number"`
	Status       InvoiceStatus `json:"status"`
	AmountDue    money.Amount  `json:"amount_due"`
	AmountPaid   money.Amount  `json:"amount_paid"`
	Currency     string        `json:"currency"`
	PeriodStart  *time.Time    `json:"period_start,omitempty"`
	PeriodEnd    *time.Time    `json:"period_end,omitempty"`
	// HostedURL is the processor's page of the invoice, where it is paid;
	// PDFURL its PDF. The Mock has neither.
	HostedURL string        `json:"hosted_invoice_url,omitempty"`
	PDFURL    string        `json:"invoice_pdf,omitempty"`
	Lines     []InvoiceLine `json:"lines"`
	// Mock marks an invoice of the Mock, which no one pays for real.
	Mock      bool      `json:"mock,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// itemIDs lists the invoice items inv bills.
func (inv Invoice) itemIDs() []string {
	var out []string
	for _, l := range inv.Lines {
		if l.InvoiceItem != "" {
			out = append(out, l.InvoiceItem)
		}
	}
	return out
}

// InvoiceRequest asks for a draft invoice of a customer that holds only
// the items added to it by id (no pending ones).
type InvoiceRequest struct {
	Customer       string
	Currency       string
	Description    string
	IdempotencyKey string
	Metadata       map[string]string
}

// PaygStatus is where a pay-as-you-go item stands.
type PaygStatus string

// Pay-as-you-go item states.
const (
	// PaygClaimed: the owed entries are claimed; the processor's item is
	// not known to be made yet.
	PaygClaimed PaygStatus = "claimed"
	// PaygBilled: the processor made the item.
	PaygBilled PaygStatus = "billed"
)

// PaygItem is the pay-as-you-go a user owed in one period, billed as one
// invoice item. The ledger entries it bills are claimed with it, in one
// transaction, so each is billed once.
type PaygItem struct {
	ID       string       `json:"id"`
	TenantID string       `json:"tenant_id"`
	UserID   string       `json:"user_id"`
	Period   string       `json:"period"`
	Amount   money.Amount `json:"amount"`
	Status   PaygStatus   `json:"status"`
	// ItemID is the processor's invoice item, once made; InvoiceID the
	// invoice holding it, once known.
	ItemID    string    `json:"item_id,omitempty"`
	InvoiceID string    `json:"invoice_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Owner names a user's account.
type Owner struct {
	TenantID string
	UserID   string
}

// InvoiceRepo keeps invoices and the billing of pay-as-you-go; the store
// implements it.
type InvoiceRepo interface {
	Tenant(ctx context.Context, id string) (tenant.Tenant, error)
	// BillingCustomerByID finds whose customer id is.
	BillingCustomerByID(ctx context.Context, tenantID, customerID string) (Customer, error)
	// PutInvoice stores a new invoice, or moves a stored one to inv when
	// inv's status comes later; moved reports whether either happened.
	PutInvoice(ctx context.Context, inv Invoice) (moved bool, err error)
	Invoice(ctx context.Context, tenantID, id string) (Invoice, error)
	// Invoices lists a user's invoices newest first, after the one named
	// by cursor when set.
	Invoices(ctx context.Context, tenantID, userID, cursor string, limit int) ([]Invoice, error)
	// PaygOwners lists the accounts holding pay-as-you-go entries made
	// before before and not claimed.
	PaygOwners(ctx context.Context, before time.Time) ([]Owner, error)
	// ClaimPayg claims the account's unclaimed pay-as-you-go entries made
	// before before as item, in one transaction; it answers the item of
	// the same period claimed earlier instead, with false, and claims
	// nothing (and answers a zero item) when less than a cent is owed.
	ClaimPayg(ctx context.Context, item PaygItem, before time.Time) (PaygItem, bool, error)
	// ClaimedPayg lists the items claimed and not billed yet, oldest first.
	ClaimedPayg(ctx context.Context, limit int) ([]PaygItem, error)
	// MarkPaygBilled records the processor's item (and invoice, if known).
	MarkPaygBilled(ctx context.Context, id, itemID, invoiceID string, at time.Time) error
	// LinkPaygItems ties the items among itemIDs to invoice invoiceID and
	// answers every item the invoice holds.
	LinkPaygItems(ctx context.Context, tenantID, invoiceID string, itemIDs []string, at time.Time) ([]PaygItem, error)
	// UnclaimedPayg is the pay-as-you-go a user owes and no item bills yet.
	UnclaimedPayg(ctx context.Context, tenantID, userID string) (money.Amount, error)
	Post(ctx context.Context, p Posting) (Posted, error)
}

// Mailer queues mail inside the caller's transaction; mail.Service does.
type Mailer interface {
	Send(ctx context.Context, tenantID, to string, kind mail.Kind, data any) error
}

// RecordInvoice stores what a processor says of an invoice: a new one, or
// a later status of one recorded (a repeated or late report changes
// nothing). It is how Stripe's webhooks (invoice.finalized, invoice.paid,
// invoice.payment_failed) and the Mock's answers reach the platform. When
// inv names no user, its customer says whose it is. In one transaction
// with the record: the pay-as-you-go items among its lines are tied to
// it; the first time it is paid, a payment of the pay-as-you-go it bills
// is posted to the user's ledger (reference invoice:<id>); and the first
// time it is open or paid, the user is mailed it.
func (s *Service) RecordInvoice(ctx context.Context, t tenant.Tenant, inv Invoice) error {
	if inv.ID == "" {
		return fault.Invalid("id", "an invoice needs the processor's id")
	}
	if !inv.Status.Valid() {
		return fault.Invalid("status", "invoice %s has status %q; want one of draft, open, paid, uncollectible, void", inv.ID, inv.Status)
	}
	inv.TenantID = t.ID
	if inv.UserID == "" || inv.Backend == "" || inv.Mode == "" {
		c, err := s.repo.BillingCustomerByID(ctx, t.ID, inv.Customer)
		if err != nil {
			return fmt.Errorf("invoice %s: %w", inv.ID, err)
		}
		inv.UserID, inv.Backend, inv.Mode = c.UserID, c.Backend, c.Mode
	}
	now := s.clock()
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = now
	}
	inv.CreatedAt, inv.UpdatedAt = inv.CreatedAt.UTC().Truncate(time.Microsecond), now
	if inv.Lines == nil {
		inv.Lines = []InvoiceLine{}
	}
	return s.repo.InTx(ctx, func(ctx context.Context) error {
		moved, err := s.repo.PutInvoice(ctx, inv)
		if err != nil {
			return err
		}
		items, err := s.repo.LinkPaygItems(ctx, t.ID, inv.ID, inv.itemIDs(), now)
		if err != nil || !moved {
			return err
		}
		if inv.Status == InvoicePaid {
			var payg money.Amount
			for _, it := range items {
				payg += it.Amount
			}
			if payg > 0 {
				if _, err := s.repo.Post(ctx, Posting{TenantID: t.ID, UserID: inv.UserID, Reference: "invoice:" + inv.ID, At: now,
					Add: payg, Kind: KindPayment}); err != nil {
					return err
				}
			}
		}
		if inv.Status == InvoiceOpen || inv.Status == InvoicePaid {
			return s.mailInvoice(ctx, t, inv)
		}
		return nil
	})
}

// mailInvoice queues the invoice's mail to its user.
func (s *Service) mailInvoice(ctx context.Context, t tenant.Tenant, inv Invoice) error {
	link := inv.HostedURL
	if link == "" { // the Mock has no page of its own: the platform's answers it
		link = s.params.Snapshot().BaseURL() + "/api/v1/billing/invoices/" + inv.ID
	}
	period := inv.CreatedAt.Format("January 2006")
	if inv.PeriodStart != nil && inv.PeriodEnd != nil && inv.PeriodEnd.After(*inv.PeriodStart) {
		period = inv.PeriodStart.Format(time.DateOnly) + " to " + inv.PeriodEnd.Format(time.DateOnly)
	}
	total := priced(inv.Currency, inv.AmountDue)
	if inv.Mock {
		total += " (mock: nothing is charged)"
	}
	err := s.mailUser(ctx, t, inv.UserID, mail.KindInvoice, func(name string) any {
		return mail.Invoice{Name: name, Number: inv.Number, Period: period, Total: total, Link: link}
	})
	if err != nil {
		return fmt.Errorf("mail invoice %s: %w", inv.ID, err)
	}
	return nil
}

// InvoicePage is one page of a user's invoices, newest first.
type InvoicePage struct {
	Invoices []Invoice `json:"invoices"`
	// Next is the cursor of the following page; empty on the last.
	Next string `json:"next_cursor,omitempty"`
}

// Invoices lists the user's invoices newest first, limit at a time (50
// when 0), after cursor when set.
func (s *Service) Invoices(ctx context.Context, t tenant.Tenant, userID, cursor string, limit int) (InvoicePage, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	if cursor != "" {
		if _, err := s.Invoice(ctx, t, userID, cursor); err != nil {
			return InvoicePage{}, fault.Invalid("cursor", "%q names none of your invoices", cursor)
		}
	}
	got, err := s.repo.Invoices(ctx, t.ID, userID, cursor, limit+1)
	if err != nil {
		return InvoicePage{}, err
	}
	out := InvoicePage{Invoices: got}
	if len(got) > limit {
		out.Invoices = got[:limit]
		out.Next = got[limit-1].ID
	}
	return out, nil
}

// Invoice reads one of the user's invoices; another user's is not found.
func (s *Service) Invoice(ctx context.Context, t tenant.Tenant, userID, id string) (Invoice, error) {
	inv, err := s.repo.Invoice(ctx, t.ID, id)
	if err == nil && inv.UserID != userID {
		return Invoice{}, fault.NotFound("invoice", id)
	}
	return inv, err
}

// Upcoming is what the user's next invoice would hold as of now.
type Upcoming struct {
	Backend BackendKind `json:"backend"`
	// Invoice is the processor's preview of the next invoice (the
	// subscription's renewal and the invoice items waiting for it); nil
	// when nothing is due there.
	Invoice *Invoice `json:"invoice,omitempty"`
	// Uninvoiced is the pay-as-you-go owed that no invoice item bills
	// yet: it is billed when the calendar month ends.
	Uninvoiced money.Amount `json:"uninvoiced_payg"`
	Total      money.Amount `json:"total"`
	Currency   string       `json:"currency"`
}

// UpcomingInvoice says what the user's next invoice would hold: the
// processor's preview plus the pay-as-you-go not billed yet. It makes no
// customer for a user who has none.
func (s *Service) UpcomingInvoice(ctx context.Context, t tenant.Tenant, userID string) (Upcoming, error) {
	b, choice, err := s.backend(t)
	if err != nil {
		return Upcoming{}, err
	}
	out := Upcoming{Backend: b.Kind(), Currency: s.params.Snapshot().String(t.ID, t.Mode, "billing.currency")}
	if out.Uninvoiced, err = s.repo.UnclaimedPayg(ctx, t.ID, userID); err != nil {
		return Upcoming{}, err
	}
	c, err := s.repo.BillingCustomer(ctx, t.ID, userID, t.Mode)
	switch {
	case err == nil && c.Backend == b.Kind() && c.Account == choice.Account(t.ID):
		inv, found, err := b.UpcomingInvoice(ctx, c.ID)
		if err != nil {
			return Upcoming{}, err
		}
		if found {
			inv.TenantID, inv.UserID, inv.Mode, inv.Backend, inv.Mock = t.ID, userID, t.Mode, b.Kind(), b.Kind() == BackendMock
			out.Invoice, out.Total, out.Currency = &inv, inv.AmountDue, inv.Currency
		}
	case err != nil && fault.KindOf(err) != fault.KindNotFound:
		return Upcoming{}, err
	}
	out.Total += out.Uninvoiced
	return out, nil
}

// Invoicing is what one run of InvoicePayg did.
type Invoicing struct {
	// Period is the calendar month billed ("2006-01").
	Period string `json:"period"`
	// Claimed counts the accounts whose owed pay-as-you-go was claimed
	// now; Billed the items the processors made (this run's and ones
	// left claimed by an earlier run).
	Claimed int `json:"claimed"`
	Billed  int `json:"billed"`
}

// InvoicePayg bills the pay-as-you-go users owe as invoice items, once
// per user and calendar month (UTC): the month before now's. It is the
// job app runs periodically; running it again, or twice at once, bills
// nothing twice.
//
// Invoice items rather than metered usage records: the ledger already
// knows each user's pay-as-you-go to the micro-dollar, after prepaid
// credit was drawn (which a processor's meter cannot know), so the amount
// is billed as it stands, and a user without a subscription is billed
// too (metered usage needs a subscription with a metered price).
//
// Each account is billed in two steps. First the entries owed before the
// month ended are claimed as one item, in one transaction with the item's
// record: each entry is claimed once, so it is never billed twice or
// skipped. Then the processor makes the item, with an idempotency key
// derived from the user and the month, so a retry makes one item: a user
// with a subscription finds it on the subscription's next invoice; for a
// user without one an invoice is made and finalized (Stripe charges it
// automatically; the Mock pays it at once with the default card) and
// recorded. An item the processor did not make is retried by the next
// run. The processor bills whole cents (ToMinor); when the invoice is
// paid the exact amount claimed is posted as payment.
func (s *Service) InvoicePayg(ctx context.Context, now time.Time) (Invoicing, error) {
	now = now.UTC()
	end := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := Invoicing{Period: end.AddDate(0, -1, 0).Format("2006-01")}
	owners, err := s.repo.PaygOwners(ctx, end)
	if err != nil {
		return out, err
	}
	for _, o := range owners {
		at := s.clock()
		_, created, err := s.repo.ClaimPayg(ctx, PaygItem{ID: "payg_" + uuid.Must(uuid.NewV7()).String(), TenantID: o.TenantID,
			UserID: o.UserID, Period: out.Period, Status: PaygClaimed, CreatedAt: at, UpdatedAt: at}, end)
		if err != nil {
			return out, err
		}
		if created {
			out.Claimed++
		}
	}
	const batch = 100
	items, err := s.repo.ClaimedPayg(ctx, batch)
	if err != nil {
		return out, err
	}
	var failed []error
	for _, it := range items {
		if err := s.billPayg(ctx, it); err != nil {
			s.log.ErrorContext(ctx, "bill pay-as-you-go", "tenant", it.TenantID, "user", it.UserID, "item", it.ID, "err", err)
			failed = append(failed, fmt.Errorf("bill %s of user %s: %w", it.ID, it.UserID, err))
			continue
		}
		out.Billed++
	}
	if len(failed) > 0 {
		return out, fmt.Errorf("%d of %d pay-as-you-go items not billed yet (retried next run); first: %w", len(failed), len(items), failed[0])
	}
	return out, nil
}

// billPayg makes the processor's item of it, and for a user without a
// subscription the invoice holding it.
func (s *Service) billPayg(ctx context.Context, it PaygItem) error {
	t, err := s.repo.Tenant(ctx, it.TenantID)
	if err != nil {
		return err
	}
	b, choice, err := s.backend(t)
	if err != nil {
		return err
	}
	c, err := s.customer(ctx, t, it.UserID, b, choice.Account(t.ID))
	if err != nil {
		return err
	}
	cur, found, err := s.current(ctx, t, it.UserID)
	if err != nil {
		return err
	}
	key := "gpubroker-payg-" + t.ID + "-" + it.UserID + "-" + it.Period
	meta := map[string]string{"gpubroker_tenant": t.ID, "gpubroker_user": it.UserID, "gpubroker_payg": it.ID, "gpubroker_period": it.Period}
	item := InvoiceItem{Customer: c.ID, Amount: it.Amount, Currency: s.params.Snapshot().String(t.ID, t.Mode, "billing.currency"),
		Description: "GPU pod usage beyond prepaid credit, " + it.Period, IdempotencyKey: key, Metadata: meta}
	if found && cur.Status.Paying() && cur.Backend == b.Kind() {
		id, err := b.CreateInvoiceItem(ctx, item)
		if err != nil {
			return err
		}
		return s.repo.MarkPaygBilled(ctx, it.ID, id, "", s.clock())
	}
	draft, err := b.CreateInvoice(ctx, InvoiceRequest{Customer: c.ID, Currency: item.Currency, Description: item.Description,
		IdempotencyKey: key + "-invoice", Metadata: meta})
	if err != nil {
		return err
	}
	item.Invoice = draft.ID
	id, err := b.CreateInvoiceItem(ctx, item)
	if err != nil {
		return err
	}
	inv, err := b.FinalizeInvoice(ctx, draft.ID, key+"-finalize")
	if err != nil {
		return err
	}
	inv.UserID, inv.Mode, inv.Backend, inv.Mock = it.UserID, t.Mode, b.Kind(), b.Kind() == BackendMock
	return s.repo.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.MarkPaygBilled(ctx, it.ID, id, inv.ID, s.clock()); err != nil {
			return err
		}
		return s.RecordInvoice(ctx, t, inv)
	})
}
