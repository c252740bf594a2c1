// Package budget holds the vocabulary of spending limits: a reservation of
// an estimated cost against a tenant's (and a user's) monthly cap, later
// settled as spending or released. The store keeps the ledger and applies
// reservations atomically; the tools pipeline makes them.
package budget

import (
	"context"
	"time"

	"github.com/gpubroker/pod/money"
)

// Reservation asks to hold money against budgets before a spending call.
type Reservation struct {
	TenantID string
	UserID   string
	Tool     string
	Period   string // calendar month, 2006-01
	Amount   money.Amount
	// TenantCap is the tenant's monthly limit.
	TenantCap money.Amount
	// UserCap is each user's monthly limit; 0 means none.
	UserCap money.Amount
	// At is when the hold is taken (the caller's clock); now when zero.
	At time.Time
}

// Period names the calendar month (UTC) that t falls in.
func Period(t time.Time) string { return t.UTC().Format("2006-01") }

// Ledger reserves spending atomically: concurrent reservations can never
// together exceed a cap.
type Ledger interface {
	// Reserve holds r.Amount, or reports ok=false with what remains.
	Reserve(ctx context.Context, r Reservation) (id string, ok bool, remaining money.Amount, err error)
	// Settle turns a hold into spending; a negative actual settles the
	// amount reserved.
	Settle(ctx context.Context, id string, actual money.Amount) error
	// Release gives a hold back.
	Release(ctx context.Context, id string) error
	// Spent is what a subject of the tenant (a user's id, or Agent) has
	// held or spent since a time: held amounts, settled actual costs.
	Spent(ctx context.Context, tenantID, subject string, since time.Time) (money.Amount, error)
}

// Agent is the subject of the agent's reservations: what it spends is
// counted apart from every user's, against the agent's own budget.
const Agent = "agent"
