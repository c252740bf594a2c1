package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
)

// BillingCustomerByID finds the user whose customer id is, in any mode.
func (s *Store) BillingCustomerByID(ctx context.Context, tenantID, customerID string) (billing.Customer, error) {
	var c billing.Customer
	var m, backend string
	err := s.queryRow(ctx, `SELECT tenant_id, user_id, mode, backend, account, customer_id, created_at FROM billing_customers
		WHERE tenant_id = $1 AND customer_id = $2`, tenantID, customerID).
		Scan(&c.TenantID, &c.UserID, &m, &backend, &c.Account, &c.ID, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fault.NotFound("billing customer", customerID)
	}
	if err != nil {
		return c, fmt.Errorf("read billing customer %s: %w", customerID, err)
	}
	c.Mode, c.Backend, c.CreatedAt = mode.Mode(m), billing.BackendKind(backend), c.CreatedAt.UTC()
	return c, nil
}

const invoiceColumns = `id, tenant_id, user_id, mode, backend, customer_id, subscription_id, number, status, amount_due, amount_paid,
	currency, period_start, period_end, hosted_url, pdf_url, lines, created_at, updated_at`

func scanInvoice(row rowScanner) (billing.Invoice, error) {
	var inv billing.Invoice
	var m, backend, status, lines string
	var due, paid int64
	var start, end sql.NullTime
	err := row.Scan(&inv.ID, &inv.TenantID, &inv.UserID, &m, &backend, &inv.Customer, &inv.Subscription, &inv.Number, &status, &due, &paid,
		&inv.Currency, &start, &end, &inv.HostedURL, &inv.PDFURL, &lines, &inv.CreatedAt, &inv.UpdatedAt)
	if err != nil {
		return inv, err
	}
	inv.Mode, inv.Backend, inv.Status = mode.Mode(m), billing.BackendKind(backend), billing.InvoiceStatus(status)
	inv.AmountDue, inv.AmountPaid = money.Amount(due), money.Amount(paid)
	inv.PeriodStart, inv.PeriodEnd = optionalTime(start), optionalTime(end)
	inv.CreatedAt, inv.UpdatedAt = inv.CreatedAt.UTC(), inv.UpdatedAt.UTC()
	inv.Mock = inv.Backend == billing.BackendMock
	if err := json.Unmarshal([]byte(lines), &inv.Lines); err != nil {
		return inv, fmt.Errorf("decode the lines of invoice %s: %w", inv.ID, err)
	}
	return inv, nil
}

// PutInvoice stores a new invoice, or moves the stored one to inv when
// inv's status comes after the stored one's (the update's condition
// decides, so of two reports at once only one moves it). A report of a
// status reached already changes nothing.
func (s *Store) PutInvoice(ctx context.Context, inv billing.Invoice) (bool, error) {
	lines, err := json.Marshal(inv.Lines)
	if err != nil {
		return false, fmt.Errorf("encode the lines of invoice %s: %w", inv.ID, err)
	}
	args := []any{inv.ID, inv.TenantID, inv.UserID, string(inv.Mode), string(inv.Backend), inv.Customer, inv.Subscription, inv.Number,
		string(inv.Status), inv.AmountDue.Micros(), inv.AmountPaid.Micros(), inv.Currency, timeArg(inv.PeriodStart), timeArg(inv.PeriodEnd),
		inv.HostedURL, inv.PDFURL, string(lines), inv.CreatedAt.UTC(), inv.UpdatedAt.UTC()}
	res, err := s.exec(ctx, `INSERT INTO billing_invoices (`+invoiceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (id) DO NOTHING`, args...)
	if err != nil {
		return false, fmt.Errorf("store invoice %s: %w", inv.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err == nil, err
	}
	before := inv.Status.Before()
	if len(before) == 0 {
		return false, nil
	}
	up := []any{inv.Subscription, inv.Number, string(inv.Status), inv.AmountDue.Micros(), inv.AmountPaid.Micros(), timeArg(inv.PeriodStart),
		timeArg(inv.PeriodEnd), inv.HostedURL, inv.PDFURL, string(lines), inv.UpdatedAt.UTC(), inv.ID, inv.TenantID}
	marks := make([]string, len(before))
	for i, st := range before {
		up = append(up, string(st))
		marks[i] = fmt.Sprintf("$%d", len(up))
	}
	// The number, URLs and lines of a finalized invoice replace a draft's;
	// a report that lacks one keeps what was stored.
	res, err = s.conn(ctx).ExecContext(ctx, `UPDATE billing_invoices SET
		subscription_id = CASE WHEN $1 = '' THEN subscription_id ELSE $1 END,
		number = CASE WHEN $2 = '' THEN number ELSE $2 END,
		status = $3, amount_due = $4, amount_paid = $5,
		period_start = COALESCE($6, period_start), period_end = COALESCE($7, period_end),
		hosted_url = CASE WHEN $8 = '' THEN hosted_url ELSE $8 END,
		pdf_url = CASE WHEN $9 = '' THEN pdf_url ELSE $9 END,
		lines = CASE WHEN $10 = '[]' THEN lines ELSE $10 END,
		updated_at = $11
		WHERE id = $12 AND tenant_id = $13 AND status IN (`+strings.Join(marks, ", ")+`)`, up...)
	if err != nil {
		return false, fmt.Errorf("move invoice %s to %s: %w", inv.ID, inv.Status, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Invoice reads one invoice of a tenant.
func (s *Store) Invoice(ctx context.Context, tenantID, id string) (billing.Invoice, error) {
	inv, err := scanInvoice(s.queryRow(ctx, `SELECT `+invoiceColumns+` FROM billing_invoices WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inv, fault.NotFound("invoice", id)
	}
	if err != nil {
		return inv, fmt.Errorf("read invoice %s: %w", id, err)
	}
	return inv, nil
}

// Invoices lists a user's invoices newest first, at most limit, after
// the invoice cursor names when it is set.
func (s *Store) Invoices(ctx context.Context, tenantID, userID, cursor string, limit int) ([]billing.Invoice, error) {
	q := `SELECT ` + invoiceColumns + ` FROM billing_invoices WHERE tenant_id = $1 AND user_id = $2`
	args := []any{tenantID, userID}
	if cursor != "" {
		q += ` AND (created_at, id) < (SELECT created_at, id FROM billing_invoices WHERE tenant_id = $1 AND id = $3)`
		args = append(args, cursor)
	}
	return listNewest(ctx, s, "invoices", q, args, limit, scanInvoice)
}

const paygColumns = `id, tenant_id, user_id, period, amount_micros, status, item_id, invoice_id, created_at, updated_at`

func scanPayg(row rowScanner) (billing.PaygItem, error) {
	var it billing.PaygItem
	var amount int64
	var status string
	err := row.Scan(&it.ID, &it.TenantID, &it.UserID, &it.Period, &amount, &status, &it.ItemID, &it.InvoiceID, &it.CreatedAt, &it.UpdatedAt)
	it.Amount, it.Status, it.CreatedAt, it.UpdatedAt = money.Amount(amount), billing.PaygStatus(status), it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	return it, err
}

// unclaimed selects a user's pay-as-you-go entries that no item claimed.
const unclaimed = `FROM ledger_entries e WHERE e.kind = 'usage_payg' AND NOT EXISTS (SELECT 1 FROM billing_payg_claims c WHERE c.entry_id = e.id)`

// PaygOwners lists the accounts with pay-as-you-go entries made before
// before that no item claimed.
func (s *Store) PaygOwners(ctx context.Context, before time.Time) ([]billing.Owner, error) {
	return queryAll(ctx, s, "pay-as-you-go owners", `SELECT DISTINCT e.tenant_id, e.user_id `+unclaimed+` AND e.created_at < $1
		ORDER BY e.tenant_id, e.user_id`, []any{before.UTC()}, func(row rowScanner) (billing.Owner, error) {
		var o billing.Owner
		return o, row.Scan(&o.TenantID, &o.UserID)
	})
}

// UnclaimedPayg is the pay-as-you-go a user owes that no item claimed.
func (s *Store) UnclaimedPayg(ctx context.Context, tenantID, userID string) (money.Amount, error) {
	var sum int64
	if err := s.queryRow(ctx, `SELECT COALESCE(SUM(-e.amount_micros), 0) `+unclaimed+` AND e.tenant_id = $1 AND e.user_id = $2`,
		tenantID, userID).Scan(&sum); err != nil {
		return 0, fmt.Errorf("read the unbilled pay-as-you-go of user %s: %w", userID, err)
	}
	return money.Amount(sum), nil
}

// ClaimPayg claims, in one transaction, the user's unclaimed pay-as-you-go
// entries made before before as item it of its period. An item of the
// same user and period claimed before is answered instead, with false,
// and nothing is claimed; so is a zero item when less than a cent is owed.
// Each entry is claimed once (its primary key): a claim racing another
// over the same entries takes only the ones left, and its amount is what
// it took.
func (s *Store) ClaimPayg(ctx context.Context, it billing.PaygItem, before time.Time) (billing.PaygItem, bool, error) {
	var out billing.PaygItem
	created := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		earlier, err := scanPayg(tx.QueryRowContext(ctx, `SELECT `+paygColumns+` FROM billing_payg_items
			WHERE tenant_id = $1 AND user_id = $2 AND period = $3`, it.TenantID, it.UserID, it.Period))
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			out = earlier
			return err
		}
		var owed int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(-e.amount_micros), 0) `+unclaimed+` AND e.tenant_id = $1 AND e.user_id = $2
			AND e.created_at < $3`, it.TenantID, it.UserID, before.UTC()).Scan(&owed); err != nil {
			return fmt.Errorf("sum the pay-as-you-go owed: %w", err)
		}
		if owed < int64(money.Cent) {
			return nil
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO billing_payg_items (`+paygColumns+`) VALUES ($1, $2, $3, $4, 0, $5, '', '', $6, $7)
			ON CONFLICT (tenant_id, user_id, period) DO NOTHING`, it.ID, it.TenantID, it.UserID, it.Period, string(billing.PaygClaimed),
			it.CreatedAt.UTC(), it.UpdatedAt.UTC())
		if err != nil {
			return fmt.Errorf("claim item: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out, err = scanPayg(tx.QueryRowContext(ctx, `SELECT `+paygColumns+` FROM billing_payg_items
				WHERE tenant_id = $1 AND user_id = $2 AND period = $3`, it.TenantID, it.UserID, it.Period))
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_payg_claims (entry_id, item) SELECT e.id, $1 `+unclaimed+`
			AND e.tenant_id = $2 AND e.user_id = $3 AND e.created_at < $4 ON CONFLICT (entry_id) DO NOTHING`,
			it.ID, it.TenantID, it.UserID, before.UTC()); err != nil {
			return fmt.Errorf("claim entries: %w", err)
		}
		out, err = scanPayg(tx.QueryRowContext(ctx, `UPDATE billing_payg_items SET amount_micros = (SELECT COALESCE(SUM(-e.amount_micros), 0)
			FROM billing_payg_claims c JOIN ledger_entries e ON e.id = c.entry_id WHERE c.item = $1) WHERE id = $1 RETURNING `+paygColumns, it.ID))
		created = err == nil
		return err
	})
	if err != nil {
		return billing.PaygItem{}, false, fmt.Errorf("claim the pay-as-you-go of user %s for %s: %w", it.UserID, it.Period, err)
	}
	return out, created, nil
}

// ClaimedPayg lists the items claimed and not billed yet, oldest first.
func (s *Store) ClaimedPayg(ctx context.Context, limit int) ([]billing.PaygItem, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, s, "claimed pay-as-you-go", fmt.Sprintf(`SELECT `+paygColumns+` FROM billing_payg_items WHERE status = $1
		ORDER BY created_at, id LIMIT %d`, limit), []any{string(billing.PaygClaimed)}, scanPayg)
}

// PaygItems lists a user's items, oldest first.
func (s *Store) PaygItems(ctx context.Context, tenantID, userID string) ([]billing.PaygItem, error) {
	return queryAll(ctx, s, "pay-as-you-go items", `SELECT `+paygColumns+` FROM billing_payg_items WHERE tenant_id = $1 AND user_id = $2
		ORDER BY created_at, id`, []any{tenantID, userID}, scanPayg)
}

// MarkPaygBilled records the processor's item of a claimed one, and the
// invoice holding it when known.
func (s *Store) MarkPaygBilled(ctx context.Context, id, itemID, invoiceID string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE billing_payg_items SET status = $1, item_id = $2,
		invoice_id = CASE WHEN $3 = '' THEN invoice_id ELSE $3 END, updated_at = $4 WHERE id = $5`,
		string(billing.PaygBilled), itemID, invoiceID, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("mark pay-as-you-go %s billed: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("pay-as-you-go item", id)
	}
	return nil
}

// LinkPaygItems ties the tenant's billed items whose processor item is
// among itemIDs to invoice invoiceID, and lists every item it holds.
func (s *Store) LinkPaygItems(ctx context.Context, tenantID, invoiceID string, itemIDs []string, at time.Time) ([]billing.PaygItem, error) {
	if len(itemIDs) > 0 {
		args := []any{invoiceID, at.UTC(), tenantID}
		marks := make([]string, len(itemIDs))
		for i, id := range itemIDs {
			args = append(args, id)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		if _, err := s.conn(ctx).ExecContext(ctx, `UPDATE billing_payg_items SET invoice_id = $1, updated_at = $2
			WHERE tenant_id = $3 AND invoice_id = '' AND item_id IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil {
			return nil, fmt.Errorf("tie pay-as-you-go items to invoice %s: %w", invoiceID, err)
		}
	}
	return queryAll(ctx, s, "pay-as-you-go items of an invoice", `SELECT `+paygColumns+` FROM billing_payg_items
		WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY created_at, id`, []any{tenantID, invoiceID}, scanPayg)
}

// MockObjectsOf lists a tenant's mock objects of one customer, oldest
// first.
func (s *Store) MockObjectsOf(ctx context.Context, tenantID, customer string) ([]billing.MockObject, error) {
	return queryAll(ctx, s, "mock objects of a customer", `SELECT `+mockColumns+` FROM billing_mock_objects
		WHERE tenant_id = $1 AND customer = $2 ORDER BY created_at, id`, []any{tenantID, customer}, scanMock)
}
