package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/gpubroker/pod/fault"
)

// StripeConfig reaches one Stripe account.
type StripeConfig struct {
	SecretKey string
	// APIURL overrides Stripe's API URL (stripe-mock); empty means Stripe.
	APIURL string
	// MaxRetries is how often stripe-go retries a request that failed on
	// the network or with a retryable answer; it sends the same
	// idempotency key each time.
	MaxRetries int64
	// Timeout bounds one request; 30 s when zero.
	Timeout time.Duration
	// HTTPClient carries the requests (tests record them); its Timeout is
	// set to Timeout.
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Stripe is the Backend on Stripe's API (stripe-go). A subscription it
// makes stays incomplete: Stripe takes the first payment when the browser
// confirms it (Stripe.js, with the payment secret answered) or charges the
// saved method later, and says so only through its webhooks, which move
// the subscription on and change the user's plan. It never sees a card
// number.
type Stripe struct {
	api *client.API
}

// NewStripe returns the Stripe backend of one account.
func NewStripe(cfg StripeConfig) *Stripe {
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.Timeout = cfg.Timeout
		hc = &c
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	bc := &stripe.BackendConfig{HTTPClient: hc, MaxNetworkRetries: stripe.Int64(cfg.MaxRetries),
		LeveledLogger: stripeLog{cfg.Log}, EnableTelemetry: stripe.Bool(false)}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	return &Stripe{api: client.New(cfg.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b})}
}

// Kind implements Backend.
func (s *Stripe) Kind() BackendKind { return BackendStripe }

func stripeParams(ctx context.Context, idempotencyKey string) stripe.Params {
	p := stripe.Params{Context: ctx}
	if idempotencyKey != "" {
		p.SetIdempotencyKey(idempotencyKey)
	}
	return p
}

// EnsureCustomer implements Backend.
func (s *Stripe) EnsureCustomer(ctx context.Context, r CustomerRequest) (string, error) {
	c, err := s.api.Customers.New(&stripe.CustomerParams{Params: stripeParams(ctx, customerKey(r.TenantID, r.UserID)),
		Email: stripe.String(r.Email), Name: stripe.String(r.Name),
		Metadata: map[string]string{"gpubroker_tenant": r.TenantID, "gpubroker_user": r.UserID}})
	if err != nil {
		return "", stripeError("create the customer", err)
	}
	return c.ID, nil
}

// CreateSetupIntent implements Backend.
func (s *Stripe) CreateSetupIntent(ctx context.Context, customer string) (SetupIntent, error) {
	si, err := s.api.SetupIntents.New(&stripe.SetupIntentParams{Params: stripeParams(ctx, ""), Customer: stripe.String(customer),
		PaymentMethodTypes: stripe.StringSlice(PaymentMethodTypes), Usage: stripe.String(string(stripe.SetupIntentUsageOffSession))})
	if err != nil {
		return SetupIntent{}, stripeError("create the SetupIntent", err)
	}
	return SetupIntent{ID: si.ID, ClientSecret: si.ClientSecret, Types: si.PaymentMethodTypes}, nil
}

// Prices implements Backend.
func (s *Stripe) Prices(ctx context.Context, lookupKeys []string) ([]Price, error) {
	lp := &stripe.PriceListParams{ListParams: stripe.ListParams{Context: ctx}, LookupKeys: stripe.StringSlice(lookupKeys), Active: stripe.Bool(true)}
	it := s.api.Prices.List(lp)
	var out []Price
	for it.Next() {
		p, err := fromStripePrice(it.Price())
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := it.Err(); err != nil {
		return nil, stripeError("look up prices", err)
	}
	return out, nil
}

func fromStripePrice(p *stripe.Price) (Price, error) {
	amount, err := FromMinor(p.UnitAmount)
	if err != nil {
		return Price{}, fmt.Errorf("price %s: %w", p.ID, err)
	}
	out := Price{ID: p.ID, LookupKey: p.LookupKey, Amount: amount, Currency: string(p.Currency)}
	if p.Product != nil {
		out.Product = p.Product.ID
	}
	if p.Recurring != nil {
		switch p.Recurring.Interval {
		case stripe.PriceRecurringIntervalMonth:
			out.Interval = Monthly
		case stripe.PriceRecurringIntervalYear:
			out.Interval = Annual
		}
	}
	return out, nil
}

// EnsureProduct implements Backend.
func (s *Stripe) EnsureProduct(ctx context.Context, p ProductSpec) (bool, error) {
	_, err := s.api.Products.Get(p.ID, &stripe.ProductParams{Params: stripeParams(ctx, "")})
	if err == nil {
		return false, nil
	}
	if fault.KindOf(stripeError("", err)) != fault.KindNotFound {
		return false, stripeError("find product "+p.ID, err)
	}
	_, err = s.api.Products.New(&stripe.ProductParams{Params: stripeParams(ctx, "gpubroker-product-"+p.ID), ID: stripe.String(p.ID),
		Name: stripe.String(p.Name), Description: stripe.String(p.Description)})
	if err != nil {
		return false, stripeError("create product "+p.ID, err)
	}
	return true, nil
}

// CreatePrice implements Backend. The idempotency key names the price's
// key, amount and currency: asking twice for the same price makes one.
func (s *Stripe) CreatePrice(ctx context.Context, p PriceSpec) (Price, error) {
	cents, err := ToMinor(p.Amount)
	if err != nil {
		return Price{}, err
	}
	interval := stripe.PriceRecurringIntervalMonth
	if p.Interval == Annual {
		interval = stripe.PriceRecurringIntervalYear
	}
	key := "gpubroker-price-" + p.LookupKey + "-" + strconv.FormatInt(cents, 10) + "-" + p.Currency
	sp, err := s.api.Prices.New(&stripe.PriceParams{Params: stripeParams(ctx, key), Product: stripe.String(p.Product),
		LookupKey: stripe.String(p.LookupKey), TransferLookupKey: stripe.Bool(true), UnitAmount: stripe.Int64(cents),
		Currency: stripe.String(p.Currency), Recurring: &stripe.PriceRecurringParams{Interval: stripe.String(string(interval))}})
	if err != nil {
		return Price{}, stripeError("create price "+p.LookupKey, err)
	}
	return fromStripePrice(sp)
}

// CreateSubscription implements Backend. The subscription is made
// incomplete (payment_behavior default_incomplete): nothing is charged
// until the first payment is confirmed, and Paid is never set.
func (s *Stripe) CreateSubscription(ctx context.Context, r SubscriptionRequest) (BackendSubscription, error) {
	p := &stripe.SubscriptionParams{Params: stripeParams(ctx, r.IdempotencyKey), Customer: stripe.String(r.Customer),
		Items:           []*stripe.SubscriptionItemsParams{{Price: stripe.String(r.Price)}},
		PaymentBehavior: stripe.String("default_incomplete"), Metadata: r.Metadata,
		PaymentSettings: &stripe.SubscriptionPaymentSettingsParams{SaveDefaultPaymentMethod: stripe.String("on_subscription")}}
	if r.PaymentMethod != "" {
		p.DefaultPaymentMethod = stripe.String(r.PaymentMethod)
	}
	p.AddExpand("latest_invoice.payment_intent")
	sub, err := s.api.Subscriptions.New(p)
	if err != nil {
		return BackendSubscription{}, stripeError("create the subscription", err)
	}
	return fromStripeSubscription(sub), nil
}

// ChangeSubscription implements Backend. The change is invoiced at once
// with its proration and stays pending until that invoice is paid
// (payment_behavior pending_if_incomplete): Stripe applies it only then,
// and its webhooks say so.
func (s *Stripe) ChangeSubscription(ctx context.Context, r ChangeRequest) (BackendSubscription, error) {
	sub, err := s.api.Subscriptions.Update(r.ID, &stripe.SubscriptionParams{Params: stripeParams(ctx, r.IdempotencyKey),
		Items:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(r.Item), Price: stripe.String(r.Price)}},
		ProrationBehavior: stripe.String("always_invoice"), PaymentBehavior: stripe.String("pending_if_incomplete")})
	if err != nil {
		return BackendSubscription{}, stripeError("change the subscription", err)
	}
	return fromStripeSubscription(sub), nil
}

// CancelAtPeriodEnd implements Backend.
func (s *Stripe) CancelAtPeriodEnd(ctx context.Context, id, idempotencyKey string) (BackendSubscription, error) {
	sub, err := s.api.Subscriptions.Update(id, &stripe.SubscriptionParams{Params: stripeParams(ctx, idempotencyKey),
		CancelAtPeriodEnd: stripe.Bool(true)})
	if err != nil {
		return BackendSubscription{}, stripeError("cancel the subscription", err)
	}
	return fromStripeSubscription(sub), nil
}

func fromStripeSubscription(sub *stripe.Subscription) BackendSubscription {
	out := BackendSubscription{ID: sub.ID, Status: Status(sub.Status), CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		PeriodStart: unix(sub.CurrentPeriodStart), PeriodEnd: unix(sub.CurrentPeriodEnd)}
	if !out.Status.Valid() { // incomplete_expired, trialing, unpaid, paused
		out.Status = Incomplete
	}
	if sub.Items != nil && len(sub.Items.Data) > 0 {
		out.Item = sub.Items.Data[0].ID
	}
	if inv := sub.LatestInvoice; inv != nil && inv.PaymentIntent != nil {
		out.PaymentSecret = inv.PaymentIntent.ClientSecret
	}
	if inv := sub.LatestInvoice; inv != nil && inv.ID != "" && inv.Status != "" {
		if got, err := FromStripeInvoice(inv); err == nil {
			out.Invoice = &got
		}
	}
	return out
}

func unix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// CreateInvoiceItem implements Backend.
func (s *Stripe) CreateInvoiceItem(ctx context.Context, it InvoiceItem) (string, error) {
	cents, err := ToMinor(it.Amount)
	if err != nil {
		return "", err
	}
	p := &stripe.InvoiceItemParams{Params: stripeParams(ctx, it.IdempotencyKey), Customer: stripe.String(it.Customer),
		Amount: stripe.Int64(cents), Currency: stripe.String(it.Currency), Description: stripe.String(it.Description), Metadata: it.Metadata}
	if it.Invoice != "" {
		p.Invoice = stripe.String(it.Invoice)
	}
	ii, err := s.api.InvoiceItems.New(p)
	if err != nil {
		return "", stripeError("create the invoice item", err)
	}
	return ii.ID, nil
}

// CreatePayment implements Backend: a PaymentIntent confirmed off-session
// with the saved payment method when one is given (else left for the
// browser to confirm with its client secret). Paid is never set: the
// money counts when Stripe's payment_intent.succeeded webhook says so.
func (s *Stripe) CreatePayment(ctx context.Context, r PaymentRequest) (Payment, error) {
	cents, err := ToMinor(r.Amount)
	if err != nil {
		return Payment{}, err
	}
	p := &stripe.PaymentIntentParams{Params: stripeParams(ctx, r.IdempotencyKey), Customer: stripe.String(r.Customer),
		Amount: stripe.Int64(cents), Currency: stripe.String(r.Currency), Description: stripe.String(r.Description)}
	p.Metadata = r.Metadata
	if r.PaymentMethod != "" {
		p.PaymentMethod, p.Confirm, p.OffSession = stripe.String(r.PaymentMethod), stripe.Bool(true), stripe.Bool(true)
	}
	pi, err := s.api.PaymentIntents.New(p)
	if err != nil {
		return Payment{}, stripeError("create the payment", err)
	}
	return Payment{ID: pi.ID, Status: string(pi.Status), ClientSecret: pi.ClientSecret}, nil
}

// CreateInvoice implements Backend: a draft charged automatically once
// finalized, holding only the items added to it by id
// (pending_invoice_items_behavior exclude), so a subscription's pending
// items stay on the subscription's invoice.
func (s *Stripe) CreateInvoice(ctx context.Context, r InvoiceRequest) (Invoice, error) {
	inv, err := s.api.Invoices.New(&stripe.InvoiceParams{Params: stripeParams(ctx, r.IdempotencyKey), Customer: stripe.String(r.Customer),
		Currency: stripe.String(r.Currency), Description: stripe.String(r.Description), Metadata: r.Metadata,
		CollectionMethod: stripe.String(string(stripe.InvoiceCollectionMethodChargeAutomatically)), AutoAdvance: stripe.Bool(true),
		PendingInvoiceItemsBehavior: stripe.String("exclude")})
	if err != nil {
		return Invoice{}, stripeError("create the invoice", err)
	}
	return FromStripeInvoice(inv)
}

// FinalizeInvoice implements Backend. Stripe charges the invoice after
// finalizing it (auto_advance); invoice.paid or invoice.payment_failed
// says how that went.
func (s *Stripe) FinalizeInvoice(ctx context.Context, id, idempotencyKey string) (Invoice, error) {
	inv, err := s.api.Invoices.FinalizeInvoice(id, &stripe.InvoiceFinalizeInvoiceParams{Params: stripeParams(ctx, idempotencyKey),
		AutoAdvance: stripe.Bool(true)})
	if err != nil {
		return Invoice{}, stripeError("finalize invoice "+id, err)
	}
	return FromStripeInvoice(inv)
}

// UpcomingInvoice implements Backend with Stripe's upcoming invoice;
// Stripe answers 404 when nothing is due.
func (s *Stripe) UpcomingInvoice(ctx context.Context, customer string) (Invoice, bool, error) {
	inv, err := s.api.Invoices.Upcoming(&stripe.InvoiceUpcomingParams{Params: stripeParams(ctx, ""), Customer: stripe.String(customer)})
	if err != nil {
		err = stripeError("preview the upcoming invoice", err)
		if fault.KindOf(err) == fault.KindNotFound {
			return Invoice{}, false, nil
		}
		return Invoice{}, false, err
	}
	out, err := FromStripeInvoice(inv)
	return out, err == nil, err
}

// FromStripeInvoice converts Stripe's invoice (as a webhook or a call
// answers it) into the platform's, amounts at the edge with FromMinor. It
// names the customer, not the user: RecordInvoice finds whose it is. An
// upcoming invoice has no id.
func FromStripeInvoice(in *stripe.Invoice) (Invoice, error) {
	if in == nil {
		return Invoice{}, fault.Invalid("invoice", "no invoice")
	}
	out := Invoice{ID: in.ID, Number: in.Number, Status: InvoiceStatus(in.Status), Currency: string(in.Currency),
		HostedURL: in.HostedInvoiceURL, PDFURL: in.InvoicePDF, Lines: []InvoiceLine{}, CreatedAt: unix(in.Created)}
	if out.Status == "" {
		out.Status = InvoiceDraft // an upcoming invoice has none
	}
	if in.Customer != nil {
		out.Customer = in.Customer.ID
	}
	if in.Subscription != nil {
		out.Subscription = in.Subscription.ID
	}
	out.PeriodStart, out.PeriodEnd = optionalTime(unix(in.PeriodStart)), optionalTime(unix(in.PeriodEnd))
	var err error
	if out.AmountDue, err = FromMinor(in.AmountDue); err != nil {
		return Invoice{}, fmt.Errorf("invoice %s: %w", in.ID, err)
	}
	if out.AmountPaid, err = FromMinor(in.AmountPaid); err != nil {
		return Invoice{}, fmt.Errorf("invoice %s: %w", in.ID, err)
	}
	if in.Lines != nil {
		for _, l := range in.Lines.Data {
			amount, err := FromMinor(l.Amount)
			if err != nil {
				return Invoice{}, fmt.Errorf("invoice %s line %s: %w", in.ID, l.ID, err)
			}
			line := InvoiceLine{ID: l.ID, Description: l.Description, Amount: amount, Currency: string(l.Currency)}
			if l.InvoiceItem != nil {
				line.InvoiceItem = l.InvoiceItem.ID
			}
			out.Lines = append(out.Lines, line)
		}
	}
	return out, nil
}

// ReadSetup implements SetupReader, expanding the payment method so its
// brand and last four digits come in the same answer.
func (s *Stripe) ReadSetup(ctx context.Context, id string) (SetupIntent, error) {
	p := &stripe.SetupIntentParams{Params: stripeParams(ctx, "")}
	p.AddExpand("payment_method")
	si, err := s.api.SetupIntents.Get(id, p)
	if err != nil {
		return SetupIntent{}, stripeError("read setup intent "+id, err)
	}
	out := SetupIntent{ID: si.ID, Types: si.PaymentMethodTypes, Status: SetupStatus(si.Status), Customer: customerID(si.Customer)}
	if si.PaymentMethod != nil {
		out.PaymentMethod = fromStripePaymentMethod(si.PaymentMethod)
	}
	if si.LastSetupError != nil {
		out.LastError = si.LastSetupError.Msg
		if si.LastSetupError.DeclineCode != "" {
			out.LastError += " (" + string(si.LastSetupError.DeclineCode) + ")"
		}
	}
	return out, nil
}

// PaymentMethod implements Backend.
func (s *Stripe) PaymentMethod(ctx context.Context, id string) (PaymentMethod, error) {
	pm, err := s.api.PaymentMethods.Get(id, &stripe.PaymentMethodParams{Params: stripeParams(ctx, "")})
	if err != nil {
		return PaymentMethod{}, stripeError("read payment method "+id, err)
	}
	return fromStripePaymentMethod(pm), nil
}

// fromStripePaymentMethod is what the platform keeps of a payment
// method: its type, and the brand and last four digits its owner sees.
func fromStripePaymentMethod(pm *stripe.PaymentMethod) PaymentMethod {
	out := PaymentMethod{ID: pm.ID, Backend: BackendStripe, Type: string(pm.Type)}
	switch {
	case pm.Card != nil:
		out.Brand, out.Last4 = string(pm.Card.Brand), pm.Card.Last4
	case pm.SEPADebit != nil:
		out.Last4 = pm.SEPADebit.Last4
	case pm.USBankAccount != nil:
		out.Brand, out.Last4 = pm.USBankAccount.BankName, pm.USBankAccount.Last4
	}
	return out
}

// PayInvoice implements Backend with Stripe's pay invoice call: a card
// refused is a Decline (stripeError), and an invoice Stripe leaves unpaid
// one too.
func (s *Stripe) PayInvoice(ctx context.Context, id, idempotencyKey string) error {
	inv, err := s.api.Invoices.Pay(id, &stripe.InvoicePayParams{Params: stripeParams(ctx, idempotencyKey)})
	if err != nil {
		return stripeError("pay invoice "+id, err)
	}
	if inv.Status != stripe.InvoiceStatusPaid {
		return &Decline{Code: "invoice_payment_failed", Message: fmt.Sprintf("invoice %s is %s after the payment attempt", id, inv.Status)}
	}
	return nil
}

// CancelNow implements Backend.
func (s *Stripe) CancelNow(ctx context.Context, id, idempotencyKey string) error {
	if _, err := s.api.Subscriptions.Cancel(id, &stripe.SubscriptionCancelParams{Params: stripeParams(ctx, idempotencyKey)}); err != nil {
		err = stripeError("cancel subscription "+id, err)
		if fault.KindOf(err) == fault.KindNotFound {
			return nil // gone already
		}
		return err
	}
	return nil
}

// stripeError turns what stripe-go answered into the platform's errors,
// in one place: a card refused is a Decline, a missing object not found,
// a refused key, a rate limit, a server error or an unreachable network
// unavailable. Anything else is a request the platform got wrong.
func stripeError(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return &fault.Error{Kind: fault.KindUnavailable, Message: fmt.Sprintf("%s: Stripe could not be reached: %v", op, err)}
	}
	switch {
	case se.Type == stripe.ErrorTypeCard:
		return &Decline{Code: string(se.Code), DeclineCode: string(se.DeclineCode), Message: se.Msg}
	case se.HTTPStatusCode == http.StatusNotFound:
		return &fault.Error{Kind: fault.KindNotFound, Message: fmt.Sprintf("%s: %s", op, se.Msg)}
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return &fault.Error{Kind: fault.KindUnavailable, Message: fmt.Sprintf("%s: Stripe refused the secret key: %s", op, se.Msg)}
	case se.Type == stripe.ErrorTypeIdempotency:
		return &fault.Error{Kind: fault.KindConflict, Message: fmt.Sprintf("%s: %s", op, se.Msg)}
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500:
		return &fault.Error{Kind: fault.KindUnavailable, Message: fmt.Sprintf("%s: Stripe is unavailable (%d): %s", op, se.HTTPStatusCode, se.Msg)}
	}
	return fmt.Errorf("%s: Stripe answered %d %s: %s (request %s)", op, se.HTTPStatusCode, se.Type, se.Msg, se.RequestID)
}

// stripeLog passes stripe-go's warnings and errors to the platform's log;
// its debug and info lines (one per request) are dropped.
type stripeLog struct{ log *slog.Logger }

func (l stripeLog) Debugf(string, ...any) {}
func (l stripeLog) Infof(string, ...any)  {}
func (l stripeLog) Warnf(format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...), "component", "stripe")
}
func (l stripeLog) Errorf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...), "component", "stripe")
}
