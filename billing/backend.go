package billing

import (
	"context"
	"errors"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

// BackendKind names a backend.
type BackendKind string

// The backends.
const (
	BackendStripe BackendKind = "stripe"
	BackendMock   BackendKind = "mock"
)

// PaymentMethodTypes are the kinds of payment method a setup offers.
var PaymentMethodTypes = []string{"card", "sepa_debit", "us_bank_account"}

// Backend is what the platform asks of a payment processor. Every
// creating call carries an idempotency key, so a retried call makes one
// object. Amounts are money.Amount here; a backend converts them at its
// own edge with ToMinor and FromMinor.
type Backend interface {
	Kind() BackendKind
	// EnsureCustomer creates the user's customer, or answers the one made
	// before for the same user (the key derives from the user id).
	EnsureCustomer(ctx context.Context, c CustomerRequest) (string, error)
	// CreateSetupIntent starts saving a payment method of PaymentMethodTypes
	// for customer, to charge later without the customer present.
	CreateSetupIntent(ctx context.Context, customer string) (SetupIntent, error)
	// Prices finds the active prices of these lookup keys; a key with none
	// is absent from the answer.
	Prices(ctx context.Context, lookupKeys []string) ([]Price, error)
	// EnsureProduct creates the product unless one of its id exists, and
	// reports whether it created it.
	EnsureProduct(ctx context.Context, p ProductSpec) (bool, error)
	// CreatePrice creates a recurring price that takes over its lookup key.
	CreatePrice(ctx context.Context, p PriceSpec) (Price, error)
	// CreateSubscription subscribes a customer to a price.
	CreateSubscription(ctx context.Context, r SubscriptionRequest) (BackendSubscription, error)
	// ChangeSubscription moves a subscription to another price, prorating
	// the rest of the period.
	ChangeSubscription(ctx context.Context, r ChangeRequest) (BackendSubscription, error)
	// CancelAtPeriodEnd ends a subscription when its period ends.
	CancelAtPeriodEnd(ctx context.Context, id, idempotencyKey string) (BackendSubscription, error)
	// CreateInvoiceItem adds a line to the customer's next invoice, or to
	// the draft invoice it names.
	CreateInvoiceItem(ctx context.Context, it InvoiceItem) (string, error)
	// CreateInvoice makes a draft invoice holding no pending items.
	CreateInvoice(ctx context.Context, r InvoiceRequest) (Invoice, error)
	// FinalizeInvoice finalizes a draft invoice, which the processor then
	// charges to the customer's default payment method: Stripe later (its
	// webhooks say when), the Mock at once. A refused payment leaves the
	// invoice open; it is no error.
	FinalizeInvoice(ctx context.Context, id, idempotencyKey string) (Invoice, error)
	// UpcomingInvoice previews the customer's next invoice; found is false
	// when nothing is due.
	UpcomingInvoice(ctx context.Context, customer string) (inv Invoice, found bool, err error)
	// CreatePayment charges a one-off amount (a PaymentIntent), with the
	// customer's saved payment method when one is given.
	CreatePayment(ctx context.Context, r PaymentRequest) (Payment, error)
	// PayInvoice tries again to take an open invoice's amount from the
	// customer's default payment method; a refusal is a Decline, an
	// invoice paid already no error.
	PayInvoice(ctx context.Context, id, idempotencyKey string) error
	// CancelNow ends a subscription at once (after its failed payments).
	CancelNow(ctx context.Context, id, idempotencyKey string) error
	// PaymentMethod reads a saved payment method: its type, and the
	// brand and last four digits shown to its owner.
	PaymentMethod(ctx context.Context, id string) (PaymentMethod, error)
}

// PaymentRequest is a one-off charge.
type PaymentRequest struct {
	Customer       string
	Amount         money.Amount
	Currency       string
	PaymentMethod  string
	Description    string
	IdempotencyKey string
	Metadata       map[string]string
}

// Payment is a one-off charge as the processor answers it.
type Payment struct {
	ID     string
	Status string
	// Paid is set when the processor took the money within the call.
	Paid bool
	// ClientSecret lets the browser confirm the payment (Stripe.js) when
	// the processor needs the customer for it.
	ClientSecret string
}

// CardConfirmer confirms a SetupIntent with a test card number on the
// server. Only the Mock implements it: a real card number never reaches
// the platform, it goes from the browser to Stripe.js.
type CardConfirmer interface {
	// ConfirmSetup confirms customer's setup intent with a card number.
	ConfirmSetup(ctx context.Context, customer, setupIntent, cardNumber string) (PaymentMethod, error)
}

// SetupReader reads a SetupIntent back from the processor, with the
// payment method it saved. Only Stripe implements it: there the browser
// confirms the setup (Stripe.js), and the server learns the outcome by
// asking Stripe, never from what the browser says.
type SetupReader interface {
	// ReadSetup reads setup intent id; an unknown one is not found.
	ReadSetup(ctx context.Context, id string) (SetupIntent, error)
}

// CustomerRequest is who a customer is made for.
type CustomerRequest struct {
	TenantID string
	UserID   string
	Email    string
	Name     string
}

// customerKey is the idempotency key of the user's customer: one user,
// one customer, however often it is asked for.
func customerKey(tenantID, userID string) string {
	return "gpubroker-customer-" + tenantID + "-" + userID
}

// SetupIntent is a started setup: the browser (Stripe.js) confirms it
// with the client secret. Read back (SetupReader), it says how that went.
type SetupIntent struct {
	ID           string
	ClientSecret string
	Types        []string
	// Status, Customer and PaymentMethod are known when it is read back:
	// a succeeded setup has saved PaymentMethod for Customer.
	Status        SetupStatus
	Customer      string
	PaymentMethod PaymentMethod
	// LastError is the processor's word on the last failed attempt (a
	// declined card), if any.
	LastError string
}

// SetupStatus is where a SetupIntent stands, in Stripe's words.
type SetupStatus string

// The setup statuses the platform tells apart.
const (
	SetupSucceeded             SetupStatus = "succeeded"
	SetupRequiresPaymentMethod SetupStatus = "requires_payment_method"
	SetupRequiresAction        SetupStatus = "requires_action"
	SetupProcessing            SetupStatus = "processing"
)

// ProductSpec is a product to ensure.
type ProductSpec struct {
	ID          string
	Name        string
	Description string
}

// PriceSpec is a recurring price to create.
type PriceSpec struct {
	Product   string
	LookupKey string
	Amount    money.Amount
	Currency  string
	Interval  Interval
}

// Price is a processor's recurring price.
type Price struct {
	ID        string
	Product   string
	LookupKey string
	Amount    money.Amount
	Currency  string
	Interval  Interval
}

// SubscriptionRequest subscribes a customer to a price.
type SubscriptionRequest struct {
	Customer string
	Price    string
	// PaymentMethod is the customer's saved default, when one is known.
	PaymentMethod  string
	IdempotencyKey string
	Metadata       map[string]string
}

// ChangeRequest moves a subscription to another price.
type ChangeRequest struct {
	ID             string
	Item           string
	Price          string
	IdempotencyKey string
}

// BackendSubscription is a subscription as the processor answers it.
type BackendSubscription struct {
	ID   string
	Item string
	// Status is what the processor says of it.
	Status            Status
	PeriodStart       time.Time
	PeriodEnd         time.Time
	CancelAtPeriodEnd bool
	// Paid is set when the processor took the payment this call asked
	// for within the call. Only then does a plan change: a processor that
	// confirms payments later (Stripe) answers false, and its webhooks
	// tell when the money came.
	Paid bool
	// PaymentSecret is the client secret of the first payment, when the
	// browser must confirm it (Stripe.js).
	PaymentSecret string
	// Invoice is the invoice the call made (the first period, a
	// proration), when the processor answered it.
	Invoice *Invoice
}

// InvoiceItem is a line on a customer's next invoice, or on the draft
// invoice Invoice names.
type InvoiceItem struct {
	Customer       string
	Invoice        string
	Amount         money.Amount
	Currency       string
	Description    string
	IdempotencyKey string
	Metadata       map[string]string
}

// Decline is a processor refusing a card or a payment: Code is Stripe's
// error code (card_declined, incorrect_number…), DeclineCode the issuer's
// reason (generic_decline, insufficient_funds…).
type Decline struct {
	Code        string
	DeclineCode string
	Message     string
}

func (d *Decline) Error() string {
	code := d.Code
	if d.DeclineCode != "" {
		code += " (" + d.DeclineCode + ")"
	}
	return code + ": " + d.Message
}

// declined turns a decline in err into the problem a caller reads: the
// field names what was refused, the message carries the codes. Any other
// error passes through.
func declined(err error, field, what string) error {
	var d *Decline
	if !errors.As(err, &d) {
		return err
	}
	return &fault.Error{Kind: fault.KindInvalid, Message: what + " was declined",
		Problems: []fault.Problem{{Field: field, Message: d.Error()}}}
}
