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
	// Add credits the account (a purchase, a payment) with Kind.
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

// Settle charges every interval f selects that has ended to its owner's
// account, each once (its reference names the pod and when it started):
// concurrent or repeated settlements charge nothing twice. It answers how
// many intervals it charged now.
func Settle(ctx context.Context, u Usages, l Ledger, f pods.UsageFilter, at time.Time) (int, error) {
	var ended []Posting
	err := u.EachUsage(ctx, f, func(use pods.Usage) error {
		if use.End == nil {
			return nil // charged once it ends
		}
		c, err := use.Cost(*use.End)
		if err != nil || c.Total == 0 {
			return err
		}
		ended = append(ended, Posting{TenantID: use.TenantID, UserID: use.OwnerID, At: at, Charge: c.Total,
			Reference: fmt.Sprintf("usage:%s:%d", use.PodID, use.Start.UnixNano())})
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Posted after the stream is read: on SQLite the reading holds the
	// one connection a posting needs.
	charged := 0
	for _, p := range ended {
		posted, err := l.Post(ctx, p)
		if err != nil {
			return charged, err
		}
		if !posted.Duplicate {
			charged++
		}
	}
	return charged, nil
}
