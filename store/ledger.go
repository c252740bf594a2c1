package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

// errPosted rolls back a posting whose reference was posted already.
var errPosted = errors.New("posted already")

// Post applies one posting to a user's account in one transaction: the
// reference is claimed first (a repeat is a duplicate and changes
// nothing), the account row is locked by updating it (PostgreSQL makes a
// concurrent posting to the same account wait; SQLite has one writer), so
// a charge splits on the balance as it is, and the entries and the new
// balance commit together.
func (s *Store) Post(ctx context.Context, p billing.Posting) (billing.Posted, error) {
	if (p.Add < 0 && p.Kind != billing.KindRefund) || p.Charge < 0 || (p.Add != 0) == (p.Charge > 0) {
		return billing.Posted{}, fault.Invalid("amount", "a posting either adds or charges a positive amount (a refund adds a negative one)")
	}
	var out billing.Posted
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// DO NOTHING rather than a unique violation, which would abort a
		// transaction this posting joined.
		res, err := tx.ExecContext(ctx, `INSERT INTO ledger_postings (reference, tenant_id, user_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (reference) DO NOTHING`, p.Reference, p.TenantID, p.UserID, p.At.UTC())
		if err != nil {
			return fmt.Errorf("claim posting %s: %w", p.Reference, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPosted
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_accounts (tenant_id, user_id) VALUES ($1, $2)
			ON CONFLICT (tenant_id, user_id) DO NOTHING`, p.TenantID, p.UserID); err != nil {
			return fmt.Errorf("open account: %w", err)
		}
		var balance int64
		if err := tx.QueryRowContext(ctx, `UPDATE ledger_accounts SET balance_micros = balance_micros
			WHERE tenant_id = $1 AND user_id = $2 RETURNING balance_micros`, p.TenantID, p.UserID).Scan(&balance); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		add := func(kind billing.EntryKind, amount money.Amount) error {
			if amount == 0 {
				return nil
			}
			e := billing.Entry{ID: "le_" + uuid.Must(uuid.NewV7()).String(), TenantID: p.TenantID, UserID: p.UserID, Kind: kind,
				Amount: amount, Reference: p.Reference, CreatedAt: p.At.UTC()}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries (id, tenant_id, user_id, kind, amount_micros, reference, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.TenantID, e.UserID, string(e.Kind), e.Amount.Micros(), e.Reference, e.CreatedAt); err != nil {
				return fmt.Errorf("add ledger entry: %w", err)
			}
			out.Entries = append(out.Entries, e)
			balance += amount.Micros()
			return nil
		}
		if p.Add != 0 {
			err = add(p.Kind, p.Add)
		} else {
			credit, payg := billing.Split(money.Amount(balance), p.Charge)
			if err = add(billing.KindUsageCredit, -credit); err == nil {
				err = add(billing.KindUsagePayg, -payg)
			}
		}
		if err != nil {
			return err
		}
		out.Balance = money.Amount(balance)
		_, err = tx.ExecContext(ctx, `UPDATE ledger_accounts SET balance_micros = $1 WHERE tenant_id = $2 AND user_id = $3`,
			balance, p.TenantID, p.UserID)
		return err
	})
	if errors.Is(err, errPosted) {
		bal, err := s.Balance(ctx, p.TenantID, p.UserID)
		return billing.Posted{Duplicate: true, Balance: bal}, err
	}
	if err != nil {
		return billing.Posted{}, fmt.Errorf("post %s: %w", p.Reference, err)
	}
	return out, nil
}

// PostingOwner is the account a reference was posted to.
func (s *Store) PostingOwner(ctx context.Context, reference string) (string, string, error) {
	var tenantID, userID string
	err := s.queryRow(ctx, `SELECT tenant_id, user_id FROM ledger_postings WHERE reference = $1`, reference).Scan(&tenantID, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fault.NotFound("ledger posting", reference)
	}
	if err != nil {
		return "", "", fmt.Errorf("read posting %s: %w", reference, err)
	}
	return tenantID, userID, nil
}

// PostedSum adds up a user's entries whose reference starts with prefix
// (compared as text: no character of it is a pattern).
func (s *Store) PostedSum(ctx context.Context, tenantID, userID, prefix string) (money.Amount, error) {
	var sum int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(amount_micros), 0) FROM ledger_entries
		WHERE tenant_id = $1 AND user_id = $2 AND substr(reference, 1, $3) = $4`, tenantID, userID, len(prefix), prefix).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("add up postings %s…: %w", prefix, err)
	}
	return money.Amount(sum), nil
}

// Balance is a user's account balance: credit when positive, owed when
// negative.
func (s *Store) Balance(ctx context.Context, tenantID, userID string) (money.Amount, error) {
	var b int64
	err := s.queryRow(ctx, `SELECT balance_micros FROM ledger_accounts WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return money.Amount(b), nil
}

// Entries lists a user's ledger entries, newest first.
func (s *Store) Entries(ctx context.Context, tenantID, userID string, limit int) ([]billing.Entry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, s, "ledger entries", fmt.Sprintf(`SELECT id, tenant_id, user_id, kind, amount_micros, reference, created_at
		FROM ledger_entries WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT %d`, limit),
		[]any{tenantID, userID}, func(row rowScanner) (billing.Entry, error) {
			var e billing.Entry
			var kind string
			var amount int64
			err := row.Scan(&e.ID, &e.TenantID, &e.UserID, &kind, &amount, &e.Reference, &e.CreatedAt)
			e.Kind, e.Amount, e.CreatedAt = billing.EntryKind(kind), money.Amount(amount), e.CreatedAt.UTC()
			return e, err
		})
}
