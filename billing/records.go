package billing

import (
	"slices"
	"time"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
)

// Status is where a subscription stands.
type Status string

// Subscription states, as Stripe names them.
const (
	// Incomplete: made, its first payment not (yet) taken.
	Incomplete Status = "incomplete"
	Active     Status = "active"
	// PastDue: a renewal payment failed and is being retried.
	PastDue  Status = "past_due"
	Canceled Status = "canceled"
)

// Statuses lists every state.
var Statuses = []Status{Incomplete, Active, PastDue, Canceled}

// Valid reports whether s is a known state.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Paying reports whether a subscription in this state holds its plan.
func (s Status) Paying() bool { return s == Active || s == PastDue }

// Customer is a user's customer at the backend serving their tenant in a
// mode.
type Customer struct {
	TenantID string      `json:"tenant_id"`
	UserID   string      `json:"user_id"`
	Mode     mode.Mode   `json:"mode"`
	Backend  BackendKind `json:"backend"`
	// Account names the processor account (Choice.Account): a customer
	// of one Stripe account is none of another's.
	Account   string    `json:"account"`
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// PaymentMethod is a saved way to pay; a user has one default per mode.
type PaymentMethod struct {
	ID       string      `json:"id"`
	TenantID string      `json:"tenant_id"`
	UserID   string      `json:"user_id"`
	Mode     mode.Mode   `json:"mode"`
	Backend  BackendKind `json:"backend"`
	// Type is card, sepa_debit or us_bank_account.
	Type      string    `json:"type"`
	Brand     string    `json:"brand,omitempty"`
	Last4     string    `json:"last4"`
	Default   bool      `json:"default"`
	CreatedAt time.Time `json:"created_at"`
}

// Subscription is a user's subscription to a paid plan, as the platform
// records it. Revision counts changes; a change names the revision read.
type Subscription struct {
	ID       string      `json:"id"`
	TenantID string      `json:"tenant_id"`
	UserID   string      `json:"user_id"`
	Mode     mode.Mode   `json:"mode"`
	Backend  BackendKind `json:"backend"`
	Plan     PlanID      `json:"plan"`
	Interval Interval    `json:"interval"`
	Status   Status      `json:"status"`
	// PeriodStart and PeriodEnd bound the period paid for (unset until
	// the processor says).
	PeriodStart       *time.Time `json:"current_period_start,omitempty"`
	PeriodEnd         *time.Time `json:"current_period_end,omitempty"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	// PendingPlan and PendingInterval are a change asked for whose
	// payment the processor has not confirmed yet.
	PendingPlan     PlanID   `json:"pending_plan,omitempty"`
	PendingInterval Interval `json:"pending_interval,omitempty"`
	BackendID       string   `json:"backend_id,omitempty"`
	BackendItem     string   `json:"backend_item_id,omitempty"`
	// Dunning is the retry schedule of a failed payment, while one runs.
	Dunning   *Dunning  `json:"dunning,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// period sets the subscription's period from the processor's answer
// (zero times are unknown).
func (s *Subscription) period(b BackendSubscription) {
	s.PeriodStart, s.PeriodEnd = optionalTime(b.PeriodStart), optionalTime(b.PeriodEnd)
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}

// MockObject is one object the Mock keeps in the database, as a processor
// would: a customer, setup intent, payment method, product, price,
// subscription, invoice or invoice item. Data is the object as JSON, and
// carries "mock": true like the row itself.
type MockObject struct {
	ID       string
	TenantID string
	Object   string
	// LookupKey is a price's lookup key (one price holds a key).
	LookupKey string
	// IdempotencyKey makes a retried creation answer the first object.
	IdempotencyKey string
	Customer       string
	Status         string
	Data           []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Dunning is where the retries of a failed payment stand: the invoice,
// what it asks, why it failed last, how many attempts were made (the
// first failure is attempt 1), when the first failed and when the next is
// due.
type Dunning struct {
	Invoice   string       `json:"invoice"`
	Amount    money.Amount `json:"amount"`
	Currency  string       `json:"currency"`
	Reason    string       `json:"reason,omitempty"`
	Attempts  int          `json:"attempts"`
	StartedAt time.Time    `json:"started_at"`
	NextAt    time.Time    `json:"next_attempt_at"`
}
