package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

// errOverBudget rolls back a reservation that does not fit.
var errOverBudget = errors.New("over budget")

// Reserve holds r.Amount against the tenant's monthly account and, when
// r.UserCap > 0, the user's. Each hold is one conditional UPDATE, which
// both backends apply atomically (PostgreSQL re-checks the condition after
// waiting for a concurrent writer's lock; SQLite runs one writer at a
// time), so concurrent reservations can never together pass a cap.
func (s *Store) Reserve(ctx context.Context, r budget.Reservation) (string, bool, money.Amount, error) {
	id := uuid.NewString()
	amount := r.Amount.Micros()
	if amount < 0 {
		return "", false, 0, fault.Invalid("amount", "a reservation cannot be negative")
	}
	var remaining int64
	at := now()
	if !r.At.IsZero() {
		at = r.At.UTC().Truncate(time.Microsecond)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		hold := func(subject string, capacity money.Amount) error {
			limit := capacity.Micros()
			if _, err := tx.ExecContext(ctx, `INSERT INTO budget_accounts (tenant_id, period, subject) VALUES ($1, $2, $3)
				ON CONFLICT (tenant_id, period, subject) DO NOTHING`, r.TenantID, r.Period, subject); err != nil {
				return fmt.Errorf("open budget account: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE budget_accounts SET held_micros = held_micros + $1
				WHERE tenant_id = $2 AND period = $3 AND subject = $4 AND held_micros + spent_micros + $1 <= $5`,
				amount, r.TenantID, r.Period, subject, limit)
			if err != nil {
				return fmt.Errorf("hold budget: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				var held, spent int64
				if err := tx.QueryRowContext(ctx, `SELECT held_micros, spent_micros FROM budget_accounts
					WHERE tenant_id = $1 AND period = $2 AND subject = $3`, r.TenantID, r.Period, subject).Scan(&held, &spent); err != nil {
					return err
				}
				remaining = max(0, limit-held-spent)
				return errOverBudget
			}
			return nil
		}
		if err := hold("", r.TenantCap); err != nil {
			return err
		}
		if r.UserID != "" && r.UserCap > 0 {
			if err := hold(r.UserID, r.UserCap); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO budget_reservations (id, tenant_id, user_id, period, tool, amount_micros, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'held', $7)`, id, r.TenantID, r.UserID, r.Period, r.Tool, amount, at)
		return err
	})
	if errors.Is(err, errOverBudget) {
		return "", false, money.Amount(remaining), nil
	}
	if err != nil {
		return "", false, 0, fmt.Errorf("reserve budget for %s: %w", r.Tool, err)
	}
	return id, true, 0, nil
}

// Settle turns a hold into spending of actual (the amount held when
// negative).
func (s *Store) Settle(ctx context.Context, id string, actual money.Amount) error {
	return s.close(ctx, id, "settled", actual)
}

// Release gives a hold back.
func (s *Store) Release(ctx context.Context, id string) error {
	return s.close(ctx, id, "released", 0)
}

func (s *Store) close(ctx context.Context, id, state string, actual money.Amount) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var tenantID, userID, period string
		var amount int64
		err := tx.QueryRowContext(ctx, `UPDATE budget_reservations SET state = $1, closed_at = $2
			WHERE id = $3 AND state = 'held' RETURNING tenant_id, user_id, period, amount_micros`,
			state, now(), id).Scan(&tenantID, &userID, &period, &amount)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Conflict("budget reservation %s is not held", id)
		}
		if err != nil {
			return fmt.Errorf("close reservation %s: %w", id, err)
		}
		spent := int64(0)
		if state == "settled" {
			spent = amount
			if actual >= 0 {
				spent = actual.Micros()
			}
			if _, err := tx.ExecContext(ctx, `UPDATE budget_reservations SET actual_micros = $1 WHERE id = $2`, spent, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE budget_accounts SET held_micros = held_micros - $1, spent_micros = spent_micros + $2
			WHERE tenant_id = $3 AND period = $4 AND (subject = '' OR subject = $5)`, amount, spent, tenantID, period, userID)
		return err
	})
}

// Spent sums what subject's reservations in the tenant held (still held)
// or spent (settled) since a time; released ones cost nothing.
func (s *Store) Spent(ctx context.Context, tenantID, subject string, since time.Time) (money.Amount, error) {
	var sum int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN state = 'held' THEN amount_micros ELSE COALESCE(actual_micros, amount_micros) END), 0)
		FROM budget_reservations WHERE tenant_id = $1 AND user_id = $2 AND created_at >= $3 AND state <> 'released'`,
		tenantID, subject, since.UTC()).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("sum what %s spent: %w", subject, err)
	}
	return money.Amount(sum), nil
}

// BudgetUsage is an account's state in one period.
type BudgetUsage struct {
	Held  money.Amount `json:"held_usd"`
	Spent money.Amount `json:"spent_usd"`
}

// BudgetUsage reads a tenant's (subject "") or user's account.
func (s *Store) BudgetUsage(ctx context.Context, tenantID, period, subject string) (BudgetUsage, error) {
	var held, spent int64
	err := s.queryRow(ctx, `SELECT held_micros, spent_micros FROM budget_accounts
		WHERE tenant_id = $1 AND period = $2 AND subject = $3`, tenantID, period, subject).Scan(&held, &spent)
	if errors.Is(err, sql.ErrNoRows) {
		return BudgetUsage{}, nil
	}
	if err != nil {
		return BudgetUsage{}, fmt.Errorf("read budget usage: %w", err)
	}
	return BudgetUsage{Held: money.Amount(held), Spent: money.Amount(spent)}, nil
}
