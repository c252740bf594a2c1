package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
)

// EntryKind says what a ledger entry is.
type EntryKind string

// The kinds of entry. Credits and payments add to a user's balance;
// usage takes from it, first from prepaid credit, then as pay-as-you-go
// owed.
const (
	KindCredit      EntryKind = "credit"       // prepaid credit bought
	KindPayment     EntryKind = "payment"      // an invoice paid
	KindRefund      EntryKind = "refund"       // money given back (negative)
	KindUsageCredit EntryKind = "usage_credit" // usage drawn from credit
	KindUsagePayg   EntryKind = "usage_payg"   // usage beyond credit, to invoice
)

// Entry is one line of a user's account, append-only.
type Entry struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"tenant_id"`
	UserID    string       `json:"user_id"`
	Kind      EntryKind    `json:"kind"`
	Amount    money.Amount `json:"amount"`
	Reference string       `json:"reference"`
	CreatedAt time.Time    `json:"created_at"`
}

// Posting is one change to a user's account, made once per Reference (a
// usage interval, a payment's id): its entries commit together, and a
// posting repeated or raced with the same reference changes nothing.
type Posting struct {
	TenantID  string
	UserID    string
	Reference string
	At        time.Time
	// Add credits the account (a purchase, a payment) with Kind; a
	// refund (KindRefund) alone adds a negative amount, taking back
	// credit bought.
	Add  money.Amount
	Kind EntryKind
	// Charge takes usage from the account: from the credit there is, the
	// rest as pay-as-you-go.
	Charge money.Amount
}

// Posted is what a posting did.
type Posted struct {
	// Duplicate is true when the reference was posted already and nothing
	// changed.
	Duplicate bool         `json:"duplicate"`
	Entries   []Entry      `json:"entries"`
	Balance   money.Amount `json:"balance"`
}

// Ledger keeps the accounts (the store implements it).
type Ledger interface {
	Post(ctx context.Context, p Posting) (Posted, error)
	Balance(ctx context.Context, tenantID, userID string) (money.Amount, error)
	Entries(ctx context.Context, tenantID, userID string, limit int) ([]Entry, error)
}

// Split is how a charge falls on an account holding balance: drawn from
// the credit there is, the rest pay-as-you-go.
func Split(balance, charge money.Amount) (fromCredit, payg money.Amount) {
	fromCredit = min(max(balance, 0), charge)
	return fromCredit, charge - fromCredit
}

// Settlements are the ended intervals still to charge (the store
// implements it); InTx runs fn in one transaction every call made with
// its context joins.
type Settlements interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	UnsettledUsage(ctx context.Context, tenantID string, limit int) ([]pods.Usage, error)
	MarkUsageSettled(ctx context.Context, id string, at time.Time) error
}

// Dropped is told, in the transaction of the charge, that a charge took a
// user's balance from before to after.
type Dropped func(ctx context.Context, tenantID, userID string, before, after money.Amount) error

// Settle charges every ended interval not yet charged (of one tenant, or
// of all when tenantID is empty) to its owner's account: the posting and
// the interval's mark commit together, and the posting's reference is the
// interval, so concurrent or repeated settlements charge nothing twice.
// dropped (when set) hears of each charge that changed a balance. It
// answers how many intervals it charged now.
func Settle(ctx context.Context, s Settlements, l Ledger, tenantID string, at time.Time, dropped Dropped) (int, error) {
	const batch = 500
	charged := 0
	for {
		ended, err := s.UnsettledUsage(ctx, tenantID, batch)
		if err != nil {
			return charged, err
		}
		for _, use := range ended {
			c, err := use.Cost(*use.End)
			if err != nil {
				return charged, err
			}
			err = s.InTx(ctx, func(ctx context.Context) error {
				if c.Total > 0 {
					p, err := l.Post(ctx, Posting{TenantID: use.TenantID, UserID: use.OwnerID, At: at, Charge: c.Total,
						Reference: "usage:" + use.ID})
					if err != nil {
						return err
					}
					if !p.Duplicate {
						charged++
						if dropped != nil {
							if err := dropped(ctx, use.TenantID, use.OwnerID, p.Balance+c.Total, p.Balance); err != nil {
								return err
							}
						}
					}
				}
				return s.MarkUsageSettled(ctx, use.ID, at)
			})
			if err != nil {
				return charged, fmt.Errorf("settle usage %s: %w", use.ID, err)
			}
		}
		if len(ended) < batch {
			return charged, nil
		}
	}
}

// FellBelow reports whether a balance going from before to after crossed
// below threshold (a threshold of 0 or less is never crossed).
func FellBelow(before, after, threshold money.Amount) bool {
	return threshold > 0 && before >= threshold && after < threshold
}
