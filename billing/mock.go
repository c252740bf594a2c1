package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// MockRepo keeps the Mock's objects; the store implements it.
type MockRepo interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// CreateMockObject stores o, unless an object of the tenant has its
	// idempotency key: then it answers that one, and false.
	CreateMockObject(ctx context.Context, o MockObject) (MockObject, bool, error)
	MockObject(ctx context.Context, tenantID, id string) (MockObject, error)
	MockObjectByKey(ctx context.Context, tenantID, idempotencyKey string) (MockObject, error)
	UpdateMockObject(ctx context.Context, o MockObject) error
	// MockPrices finds the tenant's prices holding these lookup keys.
	MockPrices(ctx context.Context, tenantID string, lookupKeys []string) ([]MockObject, error)
	// ReleaseMockLookupKey takes a lookup key from the price holding it.
	ReleaseMockLookupKey(ctx context.Context, tenantID, lookupKey string) error
	// MockObjectsOf lists the tenant's objects of one customer, oldest
	// first.
	MockObjectsOf(ctx context.Context, tenantID, customer string) ([]MockObject, error)
}

// Mock is the payment processor of SANDBOX tenants that read no Stripe
// test key: it works without any network, and behaves as Stripe's test
// mode does where the platform looks. It keeps its objects in the
// database (each SANDBOX tenant is an account of its own), every id starts
// with mock_ and every object says "mock": true. It refuses LIVE tenants.
//
// Its test cards are Stripe's: 4242 4242 4242 4242 (and 5555 5555 5555
// 4444) succeed; 4000 0000 0000 0002 is declined when it is saved
// (card_declined, generic_decline); 4000 0000 0000 9995 is saved, and
// every payment with it fails (card_declined, insufficient_funds): a setup
// checks the card, a payment the funds. Any other number is refused as
// Stripe's test mode refuses a real card. A payment is taken within the
// call that asks for it, so a subscription is active, and its plan paid,
// as soon as CreateSubscription answers.
type Mock struct {
	repo MockRepo
	now  func() time.Time
}

// NewMock returns the Mock over repo with the clock now.
func NewMock(repo MockRepo, now func() time.Time) *Mock { return &Mock{repo: repo, now: now} }

// Account is tenant t's account at the Mock; a LIVE tenant has none.
func (m *Mock) Account(t tenant.Tenant) (*MockAccount, error) {
	if t.Mode != mode.Sandbox {
		return nil, fault.Forbidden("the mock payment processor serves SANDBOX tenants only; tenant %s is %s and pays through Stripe", t.ID, t.Mode)
	}
	return &MockAccount{m: m, tenantID: t.ID}, nil
}

// MockAccount is one SANDBOX tenant's account at the Mock.
type MockAccount struct {
	m        *Mock
	tenantID string
}

// Kind implements Backend.
func (a *MockAccount) Kind() BackendKind { return BackendMock }

// The objects the Mock keeps, as their data.
type (
	mockCustomer struct {
		Mock                 bool   `json:"mock"`
		Email                string `json:"email"`
		Name                 string `json:"name"`
		User                 string `json:"user"`
		DefaultPaymentMethod string `json:"default_payment_method,omitempty"`
	}
	mockSetupIntent struct {
		Mock               bool     `json:"mock"`
		Customer           string   `json:"customer"`
		ClientSecret       string   `json:"client_secret"`
		PaymentMethodTypes []string `json:"payment_method_types"`
		PaymentMethod      string   `json:"payment_method,omitempty"`
		LastSetupError     *Decline `json:"last_setup_error,omitempty"`
	}
	mockPaymentMethod struct {
		Mock     bool   `json:"mock"`
		Customer string `json:"customer"`
		Type     string `json:"type"`
		Brand    string `json:"brand"`
		Last4    string `json:"last4"`
		// Refusal is how every payment with the card fails (empty: paid).
		Refusal *Decline `json:"refusal,omitempty"`
	}
	mockProduct struct {
		Mock        bool   `json:"mock"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	mockPrice struct {
		Mock       bool     `json:"mock"`
		Product    string   `json:"product"`
		UnitAmount int64    `json:"unit_amount"`
		Currency   string   `json:"currency"`
		Interval   Interval `json:"interval"`
	}
	mockSubscription struct {
		Mock              bool      `json:"mock"`
		Customer          string    `json:"customer"`
		Price             string    `json:"price"`
		Item              string    `json:"item"`
		PaymentMethod     string    `json:"default_payment_method"`
		PeriodStart       time.Time `json:"current_period_start"`
		PeriodEnd         time.Time `json:"current_period_end"`
		CancelAtPeriodEnd bool      `json:"cancel_at_period_end"`
	}
	mockInvoice struct {
		Mock             bool       `json:"mock"`
		Number           string     `json:"number,omitempty"`
		Customer         string     `json:"customer"`
		Subscription     string     `json:"subscription,omitempty"`
		Description      string     `json:"description"`
		AmountDue        int64      `json:"amount_due"`
		AmountPaid       int64      `json:"amount_paid"`
		Currency         string     `json:"currency"`
		Lines            []mockLine `json:"lines,omitempty"`
		PaymentMethod    string     `json:"payment_method"`
		LastPaymentError *Decline   `json:"last_payment_error,omitempty"`
	}
	mockLine struct {
		InvoiceItem string `json:"invoice_item"`
		Description string `json:"description"`
		Amount      int64  `json:"amount"`
		Currency    string `json:"currency"`
	}
	mockPaymentIntent struct {
		Mock             bool              `json:"mock"`
		Customer         string            `json:"customer"`
		Amount           int64             `json:"amount"`
		Currency         string            `json:"currency"`
		Description      string            `json:"description"`
		PaymentMethod    string            `json:"payment_method"`
		Metadata         map[string]string `json:"metadata,omitempty"`
		LastPaymentError *Decline          `json:"last_payment_error,omitempty"`
	}
	mockInvoiceItem struct {
		Mock        bool   `json:"mock"`
		Customer    string `json:"customer"`
		Invoice     string `json:"invoice,omitempty"`
		Amount      int64  `json:"amount"`
		Currency    string `json:"currency"`
		Description string `json:"description"`
	}
)

// Object names of the Mock's objects.
const (
	objCustomer      = "customer"
	objSetupIntent   = "setup_intent"
	objPaymentMethod = "payment_method"
	objProduct       = "product"
	objPrice         = "price"
	objSubscription  = "subscription"
	objInvoice       = "invoice"
	objInvoiceItem   = "invoiceitem"
	objPaymentIntent = "payment_intent"
)

// mockID is a new id of the Mock: mock_<prefix>_<hex>.
func mockID(prefix string) string {
	return "mock_" + prefix + "_" + strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
}

func (a *MockAccount) now() time.Time { return a.m.now().UTC().Truncate(time.Microsecond) }

// create stores a new object of data, or answers the object its
// idempotency key made before.
func (a *MockAccount) create(ctx context.Context, id, object, key, customer, status, lookupKey string, data any) (MockObject, bool, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return MockObject{}, false, fmt.Errorf("encode mock %s: %w", object, err)
	}
	now := a.now()
	return a.m.repo.CreateMockObject(ctx, MockObject{ID: id, TenantID: a.tenantID, Object: object, IdempotencyKey: key, Customer: customer,
		Status: status, LookupKey: lookupKey, Data: b, CreatedAt: now, UpdatedAt: now})
}

// load reads object id, which must be of kind object, into data.
func (a *MockAccount) load(ctx context.Context, object, id string, data any) (MockObject, error) {
	o, err := a.m.repo.MockObject(ctx, a.tenantID, id)
	if err == nil && o.Object != object {
		err = fault.NotFound("mock "+object, id)
	}
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(o.Data, data); err != nil {
		return o, fmt.Errorf("decode mock %s %s: %w", object, id, err)
	}
	return o, nil
}

// save writes data and status back to o.
func (a *MockAccount) save(ctx context.Context, o MockObject, status string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode mock %s: %w", o.Object, err)
	}
	o.Data, o.Status, o.UpdatedAt = b, status, a.now()
	return a.m.repo.UpdateMockObject(ctx, o)
}

// EnsureCustomer implements Backend.
func (a *MockAccount) EnsureCustomer(ctx context.Context, r CustomerRequest) (string, error) {
	o, _, err := a.create(ctx, mockID("cus"), objCustomer, customerKey(r.TenantID, r.UserID), "", "", "",
		mockCustomer{Mock: true, Email: r.Email, Name: r.Name, User: r.UserID})
	return o.ID, err
}

// CreateSetupIntent implements Backend.
func (a *MockAccount) CreateSetupIntent(ctx context.Context, customer string) (SetupIntent, error) {
	if _, err := a.load(ctx, objCustomer, customer, &mockCustomer{}); err != nil {
		return SetupIntent{}, err
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	id := mockID("seti")
	si := mockSetupIntent{Mock: true, Customer: customer, ClientSecret: id + "_secret_" + hex.EncodeToString(secret), PaymentMethodTypes: PaymentMethodTypes}
	if _, _, err := a.create(ctx, id, objSetupIntent, "", customer, "requires_payment_method", "", si); err != nil {
		return SetupIntent{}, err
	}
	return SetupIntent{ID: id, ClientSecret: si.ClientSecret, Types: si.PaymentMethodTypes}, nil
}

// testCard is how one of Stripe's test cards behaves.
type testCard struct {
	brand string
	// setup refuses saving the card; pay refuses every payment with it.
	setup, pay *Decline
}

var testCards = map[string]testCard{
	"4242424242424242": {brand: "visa"},
	"5555555555554444": {brand: "mastercard"},
	"4000000000000002": {brand: "visa", setup: &Decline{Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}},
	"4000000000009995": {brand: "visa", pay: &Decline{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}},
}

// cardDigits reads a card number as people type it (spaces or dashes
// between groups).
func cardDigits(number string) (string, error) {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(number))
	if len(digits) < 12 || len(digits) > 19 || strings.Trim(digits, "0123456789") != "" {
		return "", fault.Invalid("card_number", "want the 12 to 19 digits of a card number, such as Stripe's test card 4242 4242 4242 4242")
	}
	return digits, nil
}

// luhn reports whether digits pass the Luhn check every card number does.
func luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// ConfirmSetup implements CardConfirmer: it saves the test card on the
// setup intent's customer as their default, as Stripe.js confirming a
// SetupIntent would, or refuses it as Stripe would.
func (a *MockAccount) ConfirmSetup(ctx context.Context, customer, setupIntent, number string) (PaymentMethod, error) {
	digits, err := cardDigits(number)
	if err != nil {
		return PaymentMethod{}, err
	}
	var si mockSetupIntent
	o, err := a.load(ctx, objSetupIntent, setupIntent, &si)
	if err == nil && si.Customer != customer {
		err = fault.NotFound("mock setup_intent", setupIntent) // another customer's
	}
	if err != nil {
		return PaymentMethod{}, err
	}
	if o.Status == "succeeded" {
		return PaymentMethod{}, fault.Conflict("setup intent %s is confirmed already (payment method %s); start a new payment setup to save another", setupIntent, si.PaymentMethod)
	}
	card, known := testCards[digits]
	var refused *Decline
	switch {
	case !luhn(digits):
		refused = &Decline{Code: "incorrect_number", Message: "Your card number is incorrect."}
	case !known:
		refused = &Decline{Code: "card_declined", DeclineCode: "test_mode_live_card",
			Message: "Your card was declined. Your request was in test mode, but used a non test card. For a list of valid test cards, visit: https://stripe.com/docs/testing."}
	default:
		refused = card.setup
	}
	if refused != nil {
		si.LastSetupError = refused
		if err := a.save(ctx, o, "requires_payment_method", si); err != nil {
			return PaymentMethod{}, err
		}
		return PaymentMethod{}, refused
	}
	pm := PaymentMethod{Type: "card", Brand: card.brand, Last4: digits[len(digits)-4:]}
	err = a.m.repo.InTx(ctx, func(ctx context.Context) error {
		p, _, err := a.create(ctx, mockID("pm"), objPaymentMethod, "confirm-"+setupIntent, si.Customer, "", "",
			mockPaymentMethod{Mock: true, Customer: si.Customer, Type: pm.Type, Brand: pm.Brand, Last4: pm.Last4, Refusal: card.pay})
		if err != nil {
			return err
		}
		pm.ID, si.PaymentMethod, si.LastSetupError = p.ID, p.ID, nil
		if err := a.save(ctx, o, "succeeded", si); err != nil {
			return err
		}
		var c mockCustomer
		co, err := a.load(ctx, objCustomer, si.Customer, &c)
		if err != nil {
			return err
		}
		c.DefaultPaymentMethod = p.ID
		return a.save(ctx, co, "", c)
	})
	return pm, err
}

// PaymentMethod implements Backend.
func (a *MockAccount) PaymentMethod(ctx context.Context, id string) (PaymentMethod, error) {
	var pm mockPaymentMethod
	if _, err := a.load(ctx, objPaymentMethod, id, &pm); err != nil {
		return PaymentMethod{}, err
	}
	return PaymentMethod{ID: id, Backend: BackendMock, Type: pm.Type, Brand: pm.Brand, Last4: pm.Last4}, nil
}

// Prices implements Backend.
func (a *MockAccount) Prices(ctx context.Context, lookupKeys []string) ([]Price, error) {
	objs, err := a.m.repo.MockPrices(ctx, a.tenantID, lookupKeys)
	if err != nil {
		return nil, err
	}
	out := make([]Price, 0, len(objs))
	for _, o := range objs {
		p, err := a.price(o)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (a *MockAccount) price(o MockObject) (Price, error) {
	var p mockPrice
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return Price{}, fmt.Errorf("decode mock price %s: %w", o.ID, err)
	}
	amount, err := FromMinor(p.UnitAmount)
	if err != nil {
		return Price{}, err
	}
	return Price{ID: o.ID, Product: p.Product, LookupKey: o.LookupKey, Amount: amount, Currency: p.Currency, Interval: p.Interval}, nil
}

// mockProductID is the Mock's id of the product the platform names id.
func mockProductID(id string) string { return "mock_prod_" + id }

// EnsureProduct implements Backend.
func (a *MockAccount) EnsureProduct(ctx context.Context, p ProductSpec) (bool, error) {
	_, created, err := a.create(ctx, mockProductID(p.ID), objProduct, "product-"+p.ID, "", "active", "",
		mockProduct{Mock: true, Name: p.Name, Description: p.Description})
	return created, err
}

// CreatePrice implements Backend.
func (a *MockAccount) CreatePrice(ctx context.Context, p PriceSpec) (Price, error) {
	cents, err := ToMinor(p.Amount)
	if err != nil {
		return Price{}, err
	}
	if _, err := a.load(ctx, objProduct, mockProductID(p.Product), &mockProduct{}); err != nil {
		return Price{}, err
	}
	key := fmt.Sprintf("price-%s-%d-%s", p.LookupKey, cents, p.Currency)
	if o, err := a.m.repo.MockObjectByKey(ctx, a.tenantID, key); err == nil {
		return a.price(o)
	} else if fault.KindOf(err) != fault.KindNotFound {
		return Price{}, err
	}
	var o MockObject
	err = a.m.repo.InTx(ctx, func(ctx context.Context) error {
		if err := a.m.repo.ReleaseMockLookupKey(ctx, a.tenantID, p.LookupKey); err != nil {
			return err
		}
		o, _, err = a.create(ctx, mockID("price"), objPrice, key, "", "active", p.LookupKey,
			mockPrice{Mock: true, Product: mockProductID(p.Product), UnitAmount: cents, Currency: p.Currency, Interval: p.Interval})
		return err
	})
	if err != nil {
		return Price{}, err
	}
	return a.price(o)
}

// pay takes cents from the payment method for an invoice of the customer,
// recorded (and answered) whether it is paid or not. A refused payment is
// a Decline.
func (a *MockAccount) pay(ctx context.Context, inv mockInvoice, key string) (Invoice, error) {
	var pm mockPaymentMethod
	if _, err := a.load(ctx, objPaymentMethod, inv.PaymentMethod, &pm); err != nil {
		return Invoice{}, err
	}
	if pm.Customer != inv.Customer {
		return Invoice{}, fault.Conflict("payment method %s does not belong to customer %s", inv.PaymentMethod, inv.Customer)
	}
	id := mockID("in")
	inv.Mock, inv.LastPaymentError, inv.Number = true, pm.Refusal, mockNumber(id)
	inv.Lines = []mockLine{{Description: inv.Description, Amount: inv.AmountDue, Currency: inv.Currency}}
	status := InvoicePaid
	if pm.Refusal != nil {
		status = InvoiceOpen
	} else {
		inv.AmountPaid = inv.AmountDue
	}
	o, _, err := a.create(ctx, id, objInvoice, key, inv.Customer, string(status), "", inv)
	if err != nil {
		return Invoice{}, err
	}
	if pm.Refusal != nil {
		return Invoice{}, pm.Refusal
	}
	return a.invoice(o)
}

// subscriptionOf answers a stored subscription as the Backend does.
func subscriptionOf(o MockObject, s mockSubscription, paid bool) BackendSubscription {
	st := Status(o.Status)
	return BackendSubscription{ID: o.ID, Item: s.Item, Status: st, PeriodStart: s.PeriodStart, PeriodEnd: s.PeriodEnd,
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, Paid: paid}
}

// CreateSubscription implements Backend: the first period is charged to
// the payment method at once. A refused payment makes no subscription
// (as Stripe's payment_behavior error_if_incomplete) and is a Decline.
func (a *MockAccount) CreateSubscription(ctx context.Context, r SubscriptionRequest) (BackendSubscription, error) {
	if o, err := a.m.repo.MockObjectByKey(ctx, a.tenantID, r.IdempotencyKey); err == nil {
		var s mockSubscription
		if err := json.Unmarshal(o.Data, &s); err != nil {
			return BackendSubscription{}, fmt.Errorf("decode mock subscription %s: %w", o.ID, err)
		}
		return subscriptionOf(o, s, true), nil
	} else if fault.KindOf(err) != fault.KindNotFound {
		return BackendSubscription{}, err
	}
	var c mockCustomer
	if _, err := a.load(ctx, objCustomer, r.Customer, &c); err != nil {
		return BackendSubscription{}, err
	}
	po, err := a.m.repo.MockObject(ctx, a.tenantID, r.Price)
	if err != nil {
		return BackendSubscription{}, err
	}
	price, err := a.price(po)
	if err != nil {
		return BackendSubscription{}, err
	}
	pm := r.PaymentMethod
	if pm == "" {
		pm = c.DefaultPaymentMethod
	}
	if pm == "" {
		return BackendSubscription{}, fault.Conflict("customer %s has no payment method to charge: confirm a payment setup first", r.Customer)
	}
	now := a.now()
	id := mockID("sub")
	cents, err := ToMinor(price.Amount)
	if err != nil {
		return BackendSubscription{}, err
	}
	inv := mockInvoice{Customer: r.Customer, Subscription: id, Description: "first period of " + price.LookupKey,
		AmountDue: cents, Currency: price.Currency, PaymentMethod: pm}
	paid, err := a.pay(ctx, inv, "invoice-"+r.IdempotencyKey)
	if err != nil {
		return BackendSubscription{}, err
	}
	s := mockSubscription{Mock: true, Customer: r.Customer, Price: r.Price, Item: mockID("si"), PaymentMethod: pm,
		PeriodStart: now, PeriodEnd: price.Interval.next(now)}
	o, _, err := a.create(ctx, id, objSubscription, r.IdempotencyKey, r.Customer, string(Active), "", s)
	if err != nil {
		return BackendSubscription{}, err
	}
	out := subscriptionOf(o, s, true)
	out.Invoice = &paid
	return out, nil
}

// ChangeSubscription implements Backend, prorating as Stripe does: within
// the same interval the difference of the two prices for the rest of the
// period is charged now (or, when it is a credit, left on the next
// invoice) and the period stays; to another interval a new period starts
// now, charged in full less the unused rest of the old one. A refused
// payment leaves the subscription as it was and is a Decline.
func (a *MockAccount) ChangeSubscription(ctx context.Context, r ChangeRequest) (BackendSubscription, error) {
	var s mockSubscription
	o, err := a.load(ctx, objSubscription, r.ID, &s)
	if err != nil {
		return BackendSubscription{}, err
	}
	if done, err := a.m.repo.MockObjectByKey(ctx, a.tenantID, r.IdempotencyKey); err == nil {
		// This change was asked for already: answer as then.
		var inv mockInvoice
		if done.Object == objInvoice && json.Unmarshal(done.Data, &inv) == nil && inv.LastPaymentError != nil {
			return BackendSubscription{}, inv.LastPaymentError
		}
		return subscriptionOf(o, s, true), nil
	} else if fault.KindOf(err) != fault.KindNotFound {
		return BackendSubscription{}, err
	}
	if Status(o.Status) != Active {
		return BackendSubscription{}, fault.Conflict("mock subscription %s is %s: only an active one changes price", r.ID, o.Status)
	}
	oldObj, err := a.m.repo.MockObject(ctx, a.tenantID, s.Price)
	if err != nil {
		return BackendSubscription{}, err
	}
	old, err := a.price(oldObj)
	if err != nil {
		return BackendSubscription{}, err
	}
	newObj, err := a.m.repo.MockObject(ctx, a.tenantID, r.Price)
	if err != nil {
		return BackendSubscription{}, err
	}
	next, err := a.price(newObj)
	if err != nil {
		return BackendSubscription{}, err
	}
	now := a.now()
	unused, err := old.Amount.MulRat(int64(max(s.PeriodEnd.Sub(now), 0)), int64(max(s.PeriodEnd.Sub(s.PeriodStart), 1)))
	if err != nil {
		return BackendSubscription{}, err
	}
	var due money.Amount
	if next.Interval == old.Interval {
		if due, err = next.Amount.MulRat(int64(max(s.PeriodEnd.Sub(now), 0)), int64(max(s.PeriodEnd.Sub(s.PeriodStart), 1))); err != nil {
			return BackendSubscription{}, err
		}
	} else {
		due, s.PeriodStart, s.PeriodEnd = next.Amount, now, next.Interval.next(now)
	}
	cents, err := ToMinor(due - unused)
	if err != nil {
		return BackendSubscription{}, err
	}
	desc := fmt.Sprintf("proration from %s to %s", old.LookupKey, next.LookupKey)
	var paid *Invoice
	switch {
	case cents > 0:
		inv := mockInvoice{Customer: s.Customer, Subscription: r.ID, Description: desc, AmountDue: cents, Currency: next.Currency, PaymentMethod: s.PaymentMethod}
		got, err := a.pay(ctx, inv, r.IdempotencyKey)
		if err != nil {
			return BackendSubscription{}, err
		}
		paid = &got
	case cents < 0:
		if _, _, err := a.create(ctx, mockID("ii"), objInvoiceItem, r.IdempotencyKey, s.Customer, "pending", "",
			mockInvoiceItem{Mock: true, Customer: s.Customer, Amount: cents, Currency: next.Currency, Description: desc}); err != nil {
			return BackendSubscription{}, err
		}
	}
	s.Price = r.Price
	if err := a.save(ctx, o, o.Status, s); err != nil {
		return BackendSubscription{}, err
	}
	out := subscriptionOf(o, s, true)
	out.Invoice = paid
	return out, nil
}

// CancelAtPeriodEnd implements Backend.
func (a *MockAccount) CancelAtPeriodEnd(ctx context.Context, id, _ string) (BackendSubscription, error) {
	var s mockSubscription
	o, err := a.load(ctx, objSubscription, id, &s)
	if err != nil {
		return BackendSubscription{}, err
	}
	s.CancelAtPeriodEnd = true
	if err := a.save(ctx, o, o.Status, s); err != nil {
		return BackendSubscription{}, err
	}
	return subscriptionOf(o, s, false), nil
}

// CreateInvoiceItem implements Backend. An item naming a draft invoice is
// added to it in the same transaction; a retried item (same key) is
// answered and added nowhere again.
func (a *MockAccount) CreateInvoiceItem(ctx context.Context, it InvoiceItem) (string, error) {
	cents, err := ToMinor(it.Amount)
	if err != nil {
		return "", err
	}
	if _, err := a.load(ctx, objCustomer, it.Customer, &mockCustomer{}); err != nil {
		return "", err
	}
	status := "pending"
	if it.Invoice != "" {
		status = "invoiced"
	}
	var id string
	err = a.m.repo.InTx(ctx, func(ctx context.Context) error {
		o, created, err := a.create(ctx, mockID("ii"), objInvoiceItem, it.IdempotencyKey, it.Customer, status, "",
			mockInvoiceItem{Mock: true, Customer: it.Customer, Invoice: it.Invoice, Amount: cents, Currency: it.Currency, Description: it.Description})
		if err != nil || !created || it.Invoice == "" {
			id = o.ID
			return err
		}
		id = o.ID
		var inv mockInvoice
		io, err := a.load(ctx, objInvoice, it.Invoice, &inv)
		if err != nil {
			return err
		}
		if io.Status != string(InvoiceDraft) || inv.Customer != it.Customer {
			return fault.Conflict("mock invoice %s is %s and of customer %s: an item is added only to its customer's draft", it.Invoice, io.Status, inv.Customer)
		}
		inv.Lines = append(inv.Lines, mockLine{InvoiceItem: o.ID, Description: it.Description, Amount: cents, Currency: it.Currency})
		inv.AmountDue += cents
		return a.save(ctx, io, io.Status, inv)
	})
	return id, err
}

// mockNumber is the number of a mock invoice, which says it is one.
func mockNumber(id string) string { return "MOCK-" + strings.ToUpper(id[len(id)-8:]) }

// CreateInvoice implements Backend.
func (a *MockAccount) CreateInvoice(ctx context.Context, r InvoiceRequest) (Invoice, error) {
	if _, err := a.load(ctx, objCustomer, r.Customer, &mockCustomer{}); err != nil {
		return Invoice{}, err
	}
	id := mockID("in")
	o, _, err := a.create(ctx, id, objInvoice, r.IdempotencyKey, r.Customer, string(InvoiceDraft), "",
		mockInvoice{Mock: true, Number: mockNumber(id), Customer: r.Customer, Description: r.Description, Currency: r.Currency})
	if err != nil {
		return Invoice{}, err
	}
	return a.invoice(o)
}

// FinalizeInvoice implements Backend, and pays the invoice at once with
// the customer's default card, as the Mock pays a subscription: a card
// that refuses payments (4000 0000 0000 9995), or no card at all, leaves
// it open with the reason. An invoice finalized before is answered as it
// stands.
func (a *MockAccount) FinalizeInvoice(ctx context.Context, id, _ string) (Invoice, error) {
	var out Invoice
	err := a.m.repo.InTx(ctx, func(ctx context.Context) error {
		var inv mockInvoice
		o, err := a.load(ctx, objInvoice, id, &inv)
		if err != nil {
			return err
		}
		if o.Status == string(InvoiceDraft) {
			status, err := a.charge(ctx, &inv)
			if err != nil {
				return err
			}
			if err := a.save(ctx, o, string(status), inv); err != nil {
				return err
			}
			if o, err = a.m.repo.MockObject(ctx, a.tenantID, id); err != nil {
				return err
			}
		}
		out, err = a.invoice(o)
		return err
	})
	return out, err
}

// charge takes a finalized invoice's amount from the customer's default
// card and answers the invoice's status: paid, or open with the reason.
func (a *MockAccount) charge(ctx context.Context, inv *mockInvoice) (InvoiceStatus, error) {
	if inv.AmountDue <= 0 {
		return InvoicePaid, nil
	}
	var c mockCustomer
	if _, err := a.load(ctx, objCustomer, inv.Customer, &c); err != nil {
		return "", err
	}
	if c.DefaultPaymentMethod == "" {
		inv.LastPaymentError = &Decline{Code: "payment_method_missing", Message: "The customer has no default payment method."}
		return InvoiceOpen, nil
	}
	var pm mockPaymentMethod
	if _, err := a.load(ctx, objPaymentMethod, c.DefaultPaymentMethod, &pm); err != nil {
		return "", err
	}
	inv.PaymentMethod = c.DefaultPaymentMethod
	if pm.Refusal != nil {
		inv.LastPaymentError = pm.Refusal
		return InvoiceOpen, nil
	}
	inv.AmountPaid, inv.LastPaymentError = inv.AmountDue, nil
	return InvoicePaid, nil
}

// invoice answers a stored invoice as the Backend does.
func (a *MockAccount) invoice(o MockObject) (Invoice, error) {
	var inv mockInvoice
	if err := json.Unmarshal(o.Data, &inv); err != nil {
		return Invoice{}, fmt.Errorf("decode mock invoice %s: %w", o.ID, err)
	}
	out := Invoice{ID: o.ID, TenantID: a.tenantID, Backend: BackendMock, Mode: mode.Sandbox, Customer: inv.Customer, Subscription: inv.Subscription,
		Number: inv.Number, Status: InvoiceStatus(o.Status), Currency: inv.Currency, Lines: []InvoiceLine{}, Mock: true,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	var err error
	if out.AmountDue, err = FromMinor(inv.AmountDue); err != nil {
		return Invoice{}, err
	}
	if out.AmountPaid, err = FromMinor(inv.AmountPaid); err != nil {
		return Invoice{}, err
	}
	for i, l := range inv.Lines {
		amount, err := FromMinor(l.Amount)
		if err != nil {
			return Invoice{}, err
		}
		out.Lines = append(out.Lines, InvoiceLine{ID: fmt.Sprintf("%s_line_%d", o.ID, i+1), InvoiceItem: l.InvoiceItem,
			Description: l.Description, Amount: amount, Currency: l.Currency})
	}
	return out, nil
}

// UpcomingInvoice implements Backend: the renewal of the customer's
// active subscription at its price (unless it ends at the period's end)
// and the invoice items waiting for the next invoice.
func (a *MockAccount) UpcomingInvoice(ctx context.Context, customer string) (Invoice, bool, error) {
	objs, err := a.m.repo.MockObjectsOf(ctx, a.tenantID, customer)
	if err != nil {
		return Invoice{}, false, err
	}
	out := Invoice{Backend: BackendMock, Mode: mode.Sandbox, TenantID: a.tenantID, Customer: customer, Status: InvoiceDraft,
		Lines: []InvoiceLine{}, Mock: true, CreatedAt: a.now()}
	for _, o := range objs {
		switch {
		case o.Object == objSubscription && o.Status == string(Active):
			var sub mockSubscription
			if err := json.Unmarshal(o.Data, &sub); err != nil {
				return Invoice{}, false, fmt.Errorf("decode mock subscription %s: %w", o.ID, err)
			}
			if sub.CancelAtPeriodEnd {
				continue
			}
			po, err := a.m.repo.MockObject(ctx, a.tenantID, sub.Price)
			if err != nil {
				return Invoice{}, false, err
			}
			p, err := a.price(po)
			if err != nil {
				return Invoice{}, false, err
			}
			out.Subscription, out.Currency = o.ID, p.Currency
			out.PeriodStart, out.PeriodEnd = optionalTime(sub.PeriodEnd), optionalTime(p.Interval.next(sub.PeriodEnd))
			out.CreatedAt = sub.PeriodEnd
			out.Lines = append(out.Lines, InvoiceLine{ID: o.ID + "_renewal", Description: "renewal of " + p.LookupKey, Amount: p.Amount, Currency: p.Currency})
		case o.Object == objInvoiceItem && o.Status == "pending":
			var it mockInvoiceItem
			if err := json.Unmarshal(o.Data, &it); err != nil {
				return Invoice{}, false, fmt.Errorf("decode mock invoice item %s: %w", o.ID, err)
			}
			amount, err := FromMinor(it.Amount)
			if err != nil {
				return Invoice{}, false, err
			}
			out.Lines = append(out.Lines, InvoiceLine{ID: o.ID, InvoiceItem: o.ID, Description: it.Description, Amount: amount, Currency: it.Currency})
			if out.Currency == "" {
				out.Currency = it.Currency
			}
		}
	}
	for _, l := range out.Lines {
		out.AmountDue += l.Amount
	}
	return out, len(out.Lines) > 0, nil
}

// CreatePayment implements Backend: the amount is taken from the payment
// method (the customer's default when none is named) within the call, and
// the payment intent is recorded paid or refused. A refusal is a Decline;
// a retry with the same idempotency key answers the first outcome.
func (a *MockAccount) CreatePayment(ctx context.Context, r PaymentRequest) (Payment, error) {
	if o, err := a.m.repo.MockObjectByKey(ctx, a.tenantID, r.IdempotencyKey); err == nil {
		var pi mockPaymentIntent
		if err := json.Unmarshal(o.Data, &pi); err != nil {
			return Payment{}, fmt.Errorf("decode mock payment intent %s: %w", o.ID, err)
		}
		if pi.LastPaymentError != nil {
			return Payment{}, pi.LastPaymentError
		}
		return Payment{ID: o.ID, Status: o.Status, Paid: o.Status == "succeeded"}, nil
	} else if fault.KindOf(err) != fault.KindNotFound {
		return Payment{}, err
	}
	var c mockCustomer
	if _, err := a.load(ctx, objCustomer, r.Customer, &c); err != nil {
		return Payment{}, err
	}
	pmID := r.PaymentMethod
	if pmID == "" {
		pmID = c.DefaultPaymentMethod
	}
	if pmID == "" {
		return Payment{}, fault.Conflict("customer %s has no payment method to charge: confirm a payment setup first", r.Customer)
	}
	var pm mockPaymentMethod
	if _, err := a.load(ctx, objPaymentMethod, pmID, &pm); err != nil {
		return Payment{}, err
	}
	if pm.Customer != r.Customer {
		return Payment{}, fault.Conflict("payment method %s does not belong to customer %s", pmID, r.Customer)
	}
	cents, err := ToMinor(r.Amount)
	if err != nil {
		return Payment{}, err
	}
	pi := mockPaymentIntent{Mock: true, Customer: r.Customer, Amount: cents, Currency: r.Currency, Description: r.Description,
		PaymentMethod: pmID, Metadata: r.Metadata, LastPaymentError: pm.Refusal}
	status := "succeeded"
	if pm.Refusal != nil {
		status = "requires_payment_method"
	}
	o, _, err := a.create(ctx, mockID("pi"), objPaymentIntent, r.IdempotencyKey, r.Customer, status, "", pi)
	if err != nil {
		return Payment{}, err
	}
	if pm.Refusal != nil {
		return Payment{}, pm.Refusal
	}
	return Payment{ID: o.ID, Status: status, Paid: true}, nil
}

// PayInvoice implements Backend: an open invoice is charged again to the
// customer's default card now (a card saved since the failure pays it).
func (a *MockAccount) PayInvoice(ctx context.Context, id, _ string) error {
	var refused *Decline
	err := a.m.repo.InTx(ctx, func(ctx context.Context) error {
		var inv mockInvoice
		o, err := a.load(ctx, objInvoice, id, &inv)
		if err != nil || o.Status != string(InvoiceOpen) {
			return err
		}
		status, err := a.charge(ctx, &inv)
		if err != nil {
			return err
		}
		if status != InvoicePaid {
			refused = inv.LastPaymentError
		}
		return a.save(ctx, o, string(status), inv)
	})
	if err == nil && refused != nil {
		return refused
	}
	return err
}

// CancelNow implements Backend.
func (a *MockAccount) CancelNow(ctx context.Context, id, _ string) error {
	var s mockSubscription
	o, err := a.load(ctx, objSubscription, id, &s)
	if err != nil || o.Status == string(Canceled) {
		return err
	}
	return a.save(ctx, o, string(Canceled), s)
}

// Renew starts a Mock subscription's next period, as Stripe does when a
// period ends: an invoice for the price and the customer's pending invoice
// items is finalized and charged to the default card. The period moves on
// whether it was paid or not; an unpaid renewal leaves the invoice open
// and the subscription past due, and answers why. key makes a repeated
// renewal of the same period answer the first.
func (a *MockAccount) Renew(ctx context.Context, id, key string) (BackendSubscription, Invoice, *Decline, error) {
	var sub BackendSubscription
	var out Invoice
	var refused *Decline
	err := a.m.repo.InTx(ctx, func(ctx context.Context) error {
		var s mockSubscription
		so, err := a.load(ctx, objSubscription, id, &s)
		if err != nil {
			return err
		}
		if io, err := a.m.repo.MockObjectByKey(ctx, a.tenantID, key); err == nil {
			var inv mockInvoice
			if err := json.Unmarshal(io.Data, &inv); err != nil {
				return fmt.Errorf("decode mock invoice %s: %w", io.ID, err)
			}
			sub, refused = subscriptionOf(so, s, io.Status == string(InvoicePaid)), inv.LastPaymentError
			out, err = a.invoice(io)
			return err
		} else if fault.KindOf(err) != fault.KindNotFound {
			return err
		}
		po, err := a.m.repo.MockObject(ctx, a.tenantID, s.Price)
		if err != nil {
			return err
		}
		price, err := a.price(po)
		if err != nil {
			return err
		}
		cents, err := ToMinor(price.Amount)
		if err != nil {
			return err
		}
		invID := mockID("in")
		inv := mockInvoice{Mock: true, Number: mockNumber(invID), Customer: s.Customer, Subscription: id, Currency: price.Currency,
			Description: "renewal of " + price.LookupKey, AmountDue: cents,
			Lines: []mockLine{{Description: "renewal of " + price.LookupKey, Amount: cents, Currency: price.Currency}}}
		objs, err := a.m.repo.MockObjectsOf(ctx, a.tenantID, s.Customer)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Object != objInvoiceItem || o.Status != "pending" {
				continue
			}
			var it mockInvoiceItem
			if err := json.Unmarshal(o.Data, &it); err != nil {
				return fmt.Errorf("decode mock invoice item %s: %w", o.ID, err)
			}
			it.Invoice = invID
			if err := a.save(ctx, o, "invoiced", it); err != nil {
				return err
			}
			inv.Lines = append(inv.Lines, mockLine{InvoiceItem: o.ID, Description: it.Description, Amount: it.Amount, Currency: it.Currency})
			inv.AmountDue += it.Amount
		}
		status, err := a.charge(ctx, &inv)
		if err != nil {
			return err
		}
		io, _, err := a.create(ctx, invID, objInvoice, key, s.Customer, string(status), "", inv)
		if err != nil {
			return err
		}
		s.PeriodStart = s.PeriodEnd
		s.PeriodEnd = price.Interval.next(s.PeriodStart)
		subStatus := Active
		if status != InvoicePaid {
			subStatus = PastDue
		}
		if err := a.save(ctx, so, string(subStatus), s); err != nil {
			return err
		}
		so.Status = string(subStatus)
		sub, refused = subscriptionOf(so, s, status == InvoicePaid), inv.LastPaymentError
		out, err = a.invoice(io)
		return err
	})
	return sub, out, refused, err
}
