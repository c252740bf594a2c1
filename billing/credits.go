package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// Metadata a credit purchase's payment carries, so the processor's
// payment_intent.succeeded event names what to credit to whom.
const (
	MetaPurpose     = "gpubroker_purpose"
	MetaTenant      = "gpubroker_tenant"
	MetaUser        = "gpubroker_user"
	PurposeCredits  = "credits"
	creditReference = "credits:"
)

// CreditReference is the ledger reference of the credit a payment buys:
// the payment itself, so the purchase and the processor's event credit it
// once between them.
func CreditReference(paymentID string) string { return creditReference + paymentID }

// Purchase is a credit purchase: its payment and whether it is credited
// yet.
type Purchase struct {
	Backend  BackendKind  `json:"backend"`
	Payment  string       `json:"payment_id"`
	Status   string       `json:"status"`
	Amount   money.Amount `json:"amount"`
	Currency string       `json:"currency"`
	Credited bool         `json:"credited"`
	Balance  money.Amount `json:"balance"`
	// ClientSecret lets the browser confirm the payment (Stripe.js) when
	// no saved payment method could be charged.
	ClientSecret string `json:"client_secret,omitempty"`
	Next         string `json:"next,omitempty"`
}

// CreditRange is the least and most one purchase of credit buys in
// tenant t.
func (s *Service) CreditRange(t tenant.Tenant) (lo, hi money.Amount) {
	snap := s.params.Snapshot()
	return snap.Money(t.ID, t.Mode, "billing.credits_min_usd"), snap.Money(t.ID, t.Mode, "billing.credits_max_usd")
}

// checkCredit refuses an amount outside the range or finer than a cent.
func (s *Service) checkCredit(t tenant.Tenant, amount money.Amount) error {
	lo, hi := s.CreditRange(t)
	if amount < lo || amount > hi || amount%money.Cent != 0 {
		return fault.Invalid("amount", "want whole cents from %s to %s, got %s", lo.Decimal(), hi.Decimal(), amount.Decimal())
	}
	return nil
}

// PreviewBuyCredits says what BuyCredits would do.
func (s *Service) PreviewBuyCredits(ctx context.Context, t tenant.Tenant, userID string, amount money.Amount) (string, error) {
	if err := s.checkCredit(t, amount); err != nil {
		return "", err
	}
	b, _, err := s.backend(t)
	if err != nil {
		return "", err
	}
	cur := s.params.Snapshot().String(t.ID, t.Mode, "billing.currency")
	return fmt.Sprintf("charge %s %s to your saved payment method with %s and add it to your prepaid credit", amount.Decimal(), cur, b.Kind()), nil
}

// BuyCredits charges amount to the user's saved payment method and adds
// it to their prepaid credit once the processor took it: with the Mock
// within the call (a refused card is a decline and buys nothing); with
// Stripe when its payment_intent.succeeded event arrives. Each call is a
// purchase of its own.
func (s *Service) BuyCredits(ctx context.Context, t tenant.Tenant, userID string, amount money.Amount) (Purchase, error) {
	if err := s.checkCredit(t, amount); err != nil {
		return Purchase{}, err
	}
	b, choice, err := s.backend(t)
	if err != nil {
		return Purchase{}, err
	}
	c, err := s.customer(ctx, t, userID, b, choice.Account(t.ID))
	if err != nil {
		return Purchase{}, err
	}
	pmID := ""
	switch pm, err := s.repo.DefaultPaymentMethod(ctx, t.ID, userID, t.Mode); {
	case err == nil && pm.Backend == b.Kind():
		pmID = pm.ID
	case err != nil && fault.KindOf(err) != fault.KindNotFound:
		return Purchase{}, err
	}
	if pmID == "" && b.Kind() == BackendMock {
		return Purchase{}, fault.Conflict("you have no saved payment method to charge: start one with start_payment_setup")
	}
	cur := s.params.Snapshot().String(t.ID, t.Mode, "billing.currency")
	pay, err := b.CreatePayment(ctx, PaymentRequest{Customer: c.ID, Amount: amount, Currency: cur, PaymentMethod: pmID,
		Description: "GPUBROKER POD prepaid credit", IdempotencyKey: "gpubroker-credits-" + uuid.Must(uuid.NewV7()).String(),
		Metadata: map[string]string{MetaPurpose: PurposeCredits, MetaTenant: t.ID, MetaUser: userID}})
	if err != nil {
		return Purchase{}, declined(err, "payment_method", "the payment")
	}
	out := Purchase{Backend: b.Kind(), Payment: pay.ID, Status: pay.Status, Amount: amount, Currency: cur, ClientSecret: pay.ClientSecret}
	if !pay.Paid {
		out.Balance, err = s.repo.Balance(ctx, t.ID, userID)
		out.Next = "the credit is added when Stripe reports the payment succeeded"
		if pay.ClientSecret != "" && pmID == "" {
			out.Next = "confirm the payment in the browser with Stripe.js (client_secret); " + out.Next
		}
		return out, err
	}
	posted, err := s.repo.Post(ctx, Posting{TenantID: t.ID, UserID: userID, Reference: CreditReference(pay.ID), At: s.clock(),
		Add: amount, Kind: KindCredit})
	if err != nil {
		return out, err
	}
	out.Credited, out.Balance = true, posted.Balance
	return out, nil
}

// LowBalance mails a user whose prepaid credit a charge took below
// billing.low_balance_usd, in the charge's transaction; it is the
// settlement's Dropped.
func (s *Service) LowBalance(ctx context.Context, tenantID, userID string, before, after money.Amount) error {
	if s.mail == nil || s.tenants == nil {
		return nil // no one to tell, or no tenant to read the threshold of
	}
	t, err := s.tenants.Lookup(ctx, tenantID)
	if err != nil {
		return err
	}
	snap := s.params.Snapshot()
	threshold := snap.Money(t.ID, t.Mode, "billing.low_balance_usd")
	if !FellBelow(before, after, threshold) {
		return nil
	}
	cur := snap.String(t.ID, t.Mode, "billing.currency")
	err = s.mailUser(ctx, t, userID, mail.KindLowBalance, func(name string) any {
		return mail.LowBalance{Name: name, Balance: priced(cur, after), Threshold: priced(cur, threshold), Link: snap.BaseURL() + "/billing"}
	})
	if fault.KindOf(err) == fault.KindNotFound {
		return nil // no person to tell (a system actor's usage)
	}
	return err
}
