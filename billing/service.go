package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// Repo keeps the platform's own record of billing; the store implements
// it. The processor keeps its own.
type Repo interface {
	Ledger
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	BillingCustomer(ctx context.Context, tenantID, userID string, m mode.Mode) (Customer, error)
	PutBillingCustomer(ctx context.Context, c Customer) error
	// PutPaymentMethod stores pm as the user's default in its mode.
	PutPaymentMethod(ctx context.Context, pm PaymentMethod) error
	DefaultPaymentMethod(ctx context.Context, tenantID, userID string, m mode.Mode) (PaymentMethod, error)
	// CreateSubscription stores a new subscription at revision 1; a user
	// has at most one that is not canceled per mode (a conflict).
	CreateSubscription(ctx context.Context, s Subscription) error
	// CurrentSubscription is the user's subscription that is not
	// canceled, if any.
	CurrentSubscription(ctx context.Context, tenantID, userID string, m mode.Mode) (Subscription, error)
	// UpdateSubscription writes s on the revision it was read at.
	UpdateSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// DueSubscriptions lists, of every tenant, the subscriptions whose
	// next payment attempt is due at at, and the Mock's whose period
	// ended by at.
	DueSubscriptions(ctx context.Context, at time.Time, limit int) ([]Subscription, error)
	// AppendAudit records what billing did on its own (the retry
	// schedule), in the caller's transaction.
	AppendAudit(ctx context.Context, r audit.Record) (int64, error)
	// DeleteSubscription removes a subscription the processor never made.
	DeleteSubscription(ctx context.Context, tenantID, id string) error
	InvoiceRepo
	Subscription(ctx context.Context, tenantID, id string) (Subscription, error)
}

// People finds the person a user is and changes their role;
// auth.Service does both.
type People interface {
	Person(ctx context.Context, tenantID, ownerID string) (auth.User, error)
	SetRole(ctx context.Context, by actor.Actor, tenantID, userID string, role actor.Role) (auth.User, error)
}

// Options tune a Service.
type Options struct {
	Now func() time.Time
	Log *slog.Logger
	// Events keeps the processor's webhook events; without it webhooks
	// are refused as unavailable.
	Events EventRepo
	// Mail queues the invoice mail; none is sent when nil.
	Mail Mailer
	// Tenants finds the tenant of a subscription for RunDue.
	Tenants Tenants
	// StopPods stops a user's running pods when their plan ends for
	// failed payments, answering how many it stopped.
	StopPods func(ctx context.Context, t tenant.Tenant, userID string, by actor.Actor) (int, error)
}

// Tenants finds a tenant by id; tenant.Service does.
type Tenants interface {
	Lookup(ctx context.Context, id string) (tenant.Tenant, error)
}

// Service runs payment setup and subscriptions for the users of every
// tenant, through the backend Choose names for the tenant.
type Service struct {
	repo      Repo
	people    People
	params    *params.Service
	backends  *Backends
	catalogue *Catalogue
	now       func() time.Time
	log       *slog.Logger
	mail      Mailer
	tenants   Tenants
	stopPods  func(ctx context.Context, t tenant.Tenant, userID string, by actor.Actor) (int, error)
	events    EventRepo
	committed func()
}

// NewService returns the billing service. Close stops its background
// price lookups.
func NewService(repo Repo, people People, ps *params.Service, backends *Backends, opt Options) *Service {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{repo: repo, people: people, params: ps, backends: backends, now: opt.Now, log: opt.Log, mail: opt.Mail, tenants: opt.Tenants, stopPods: opt.StopPods,
		events:    opt.Events,
		catalogue: NewCatalogue(ps, backends, opt.Now, opt.Log)}
}

// OnCommit sets what to call after a webhook's event was stored with its
// outbox event (the relay's nudge, so it is published at once).
func (s *Service) OnCommit(fn func()) { s.committed = fn }

// Close stops the background price lookups.
func (s *Service) Close() { s.catalogue.Close() }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Plans lists the plans tenant t's users choose from (a zero tenant: the
// global ones). It never waits on the processor.
func (s *Service) Plans(t tenant.Tenant) Plans { return s.catalogue.Plans(t) }

// Setup is a started payment setup: what the browser needs to save a
// payment method (Stripe.js with the publishable key and client secret),
// or, with the Mock, the setup intent to confirm with a test card.
type Setup struct {
	Backend            BackendKind `json:"backend"`
	Customer           string      `json:"customer_id"`
	SetupIntent        string      `json:"setup_intent_id"`
	ClientSecret       string      `json:"client_secret"`
	PublishableKey     string      `json:"publishable_key,omitempty"`
	PaymentMethodTypes []string    `json:"payment_method_types"`
	Next               string      `json:"next"`
}

// backend is the backend serving t, refused when it cannot be reached.
func (s *Service) backend(t tenant.Tenant) (Backend, Choice, error) {
	if t.ID == "" {
		return nil, Choice{}, fault.Invalid("tenant", "billing belongs to a tenant")
	}
	return s.backends.For(t)
}

// customer is the user's customer at b, made when they have none there.
func (s *Service) customer(ctx context.Context, t tenant.Tenant, userID string, b Backend, account string) (Customer, error) {
	c, err := s.repo.BillingCustomer(ctx, t.ID, userID, t.Mode)
	if err == nil && c.Backend == b.Kind() && c.Account == account {
		return c, nil
	}
	if err != nil && fault.KindOf(err) != fault.KindNotFound {
		return c, err
	}
	u, err := s.people.Person(ctx, t.ID, userID)
	if err != nil {
		return Customer{}, err
	}
	id, err := b.EnsureCustomer(ctx, CustomerRequest{TenantID: t.ID, UserID: userID, Email: u.Email, Name: u.Name})
	if err != nil {
		return Customer{}, fmt.Errorf("customer of user %s: %w", userID, err)
	}
	c = Customer{TenantID: t.ID, UserID: userID, Mode: t.Mode, Backend: b.Kind(), Account: account, ID: id, CreatedAt: s.clock()}
	if err := s.repo.PutBillingCustomer(ctx, c); err != nil {
		return Customer{}, err
	}
	return c, nil
}

// PreviewSetup says what StartSetup would do.
func (s *Service) PreviewSetup(ctx context.Context, t tenant.Tenant, userID string) (string, error) {
	b, choice, err := s.backend(t)
	if err != nil {
		return "", err
	}
	effect := fmt.Sprintf("start saving a payment method (card, SEPA debit or US bank account) with %s", b.Kind())
	if c, err := s.repo.BillingCustomer(ctx, t.ID, userID, t.Mode); err != nil || c.Account != choice.Account(t.ID) {
		effect += ", making you a customer there first"
	}
	return effect, nil
}

// StartSetup makes the user a customer of the tenant's backend when they
// are not one, and starts a SetupIntent for a payment method of
// PaymentMethodTypes.
func (s *Service) StartSetup(ctx context.Context, t tenant.Tenant, userID string) (Setup, error) {
	b, choice, err := s.backend(t)
	if err != nil {
		return Setup{}, err
	}
	c, err := s.customer(ctx, t, userID, b, choice.Account(t.ID))
	if err != nil {
		return Setup{}, err
	}
	si, err := b.CreateSetupIntent(ctx, c.ID)
	if err != nil {
		return Setup{}, err
	}
	out := Setup{Backend: b.Kind(), Customer: c.ID, SetupIntent: si.ID, ClientSecret: si.ClientSecret, PaymentMethodTypes: si.Types,
		PublishableKey: choice.PublishableKey,
		Next:           "confirm the setup in the browser with Stripe.js (stripe.confirmSetup with the publishable key and client secret)"}
	if b.Kind() == BackendMock {
		out.PublishableKey = ""
		out.Next = "confirm the setup with confirm_payment_setup and a test card: 4242 4242 4242 4242 succeeds, " +
			"4000 0000 0000 0002 is declined, 4000 0000 0000 9995 is saved but its payments fail for insufficient funds"
	}
	return out, nil
}

// confirmer is how the tenant's backend confirms a setup: with a test
// card number (the Mock), or by reading back the setup the browser
// confirmed (Stripe). A card number is refused before anything reads it
// unless the backend takes one, and the Mock needs one.
func (s *Service) confirmer(t tenant.Tenant, cardNumber string) (Backend, Choice, error) {
	b, choice, err := s.backend(t)
	if err != nil {
		return nil, choice, err
	}
	_, takesCards := b.(CardConfirmer)
	switch {
	case cardNumber != "" && !takesCards:
		return nil, choice, fault.Forbidden("card numbers are never accepted while %s serves tenant %s: confirm the setup in the browser with "+
			"Stripe.js and the client secret start_payment_setup answered, so the card goes to Stripe alone, then confirm_payment_setup "+
			"with its setup_intent_id and no card_number", b.Kind(), t.ID)
	case cardNumber == "" && takesCards:
		return nil, choice, fault.Invalid("card_number", "give a test card number such as 4242 4242 4242 4242: the %s backend takes the card here", b.Kind())
	}
	return b, choice, nil
}

// PreviewConfirm says what ConfirmSetup would do, refusing as it would
// when the card number does not suit the backend.
func (s *Service) PreviewConfirm(ctx context.Context, t tenant.Tenant, userID, setupIntent, cardNumber string) (string, error) {
	b, _, err := s.confirmer(t, cardNumber)
	if err != nil {
		return "", err
	}
	if _, err := s.repo.BillingCustomer(ctx, t.ID, userID, t.Mode); err != nil {
		return "", s.noCustomer(err)
	}
	if _, ok := b.(CardConfirmer); ok {
		return fmt.Sprintf("confirm setup intent %s with the test card and save it as your default payment method", setupIntent), nil
	}
	return fmt.Sprintf("read setup intent %s back from %s and, when it succeeded for you, save its payment method as your default", setupIntent, b.Kind()), nil
}

func (s *Service) noCustomer(err error) error {
	if fault.KindOf(err) == fault.KindNotFound {
		return fault.Conflict("you have no payment setup to confirm: start one with start_payment_setup")
	}
	return err
}

// ConfirmSetup saves the payment method of the user's setup intent as
// their default. With the Mock it confirms the setup with a test card
// number, as Stripe.js would in the browser; a declined card is an
// invalid card_number carrying the decline code. With Stripe the browser
// confirmed it already and no card number is taken: the setup intent is
// read back from Stripe, and saved only when it succeeded for the user's
// own customer; anything else is an invalid setup_intent saying why. The
// setup_intent.succeeded webhook saves the same method through the same
// path, whichever comes first: the second changes nothing.
func (s *Service) ConfirmSetup(ctx context.Context, t tenant.Tenant, userID, setupIntent, cardNumber string) (PaymentMethod, error) {
	b, choice, err := s.confirmer(t, cardNumber)
	if err != nil {
		return PaymentMethod{}, err
	}
	c, err := s.repo.BillingCustomer(ctx, t.ID, userID, t.Mode)
	if err != nil {
		return PaymentMethod{}, s.noCustomer(err)
	}
	if c.Backend != b.Kind() || c.Account != choice.Account(t.ID) {
		return PaymentMethod{}, s.noCustomer(fault.NotFound("customer of user", userID))
	}
	var pm PaymentMethod
	switch bb := b.(type) {
	case CardConfirmer:
		if pm, err = bb.ConfirmSetup(ctx, c.ID, setupIntent, cardNumber); err != nil {
			return PaymentMethod{}, declined(err, "card_number", "the card")
		}
		pm.Backend = b.Kind()
	case SetupReader:
		if pm, err = s.succeededSetup(ctx, bb, c, setupIntent); err != nil {
			return PaymentMethod{}, err
		}
	default:
		return PaymentMethod{}, fault.Unavailable("%s cannot confirm a payment setup", b.Kind())
	}
	pm, _, err = s.saveDefault(ctx, t, userID, pm)
	return pm, err
}

// succeededSetup reads setup intent id back and answers the payment method
// it saved, refusing (an invalid setup_intent) one that Stripe does not
// know, that belongs to another customer than c, or that has not
// succeeded. Whose it is comes first: nothing is said of another
// customer's setup.
func (s *Service) succeededSetup(ctx context.Context, r SetupReader, c Customer, id string) (PaymentMethod, error) {
	refuse := func(format string, args ...any) error {
		return &fault.Error{Kind: fault.KindInvalid, Message: "the payment setup was not saved",
			Problems: []fault.Problem{{Field: "setup_intent", Message: fmt.Sprintf(format, args...)}}}
	}
	si, err := r.ReadSetup(ctx, id)
	switch {
	case fault.KindOf(err) == fault.KindNotFound:
		return PaymentMethod{}, refuse("Stripe knows no setup intent %q: give the setup_intent_id start_payment_setup answered", id)
	case err != nil:
		return PaymentMethod{}, err
	case si.Customer != c.ID:
		return PaymentMethod{}, refuse("setup intent %s was not started for you: nothing was saved; start your own with start_payment_setup", id)
	}
	why := ""
	if si.LastError != "" {
		why = " (" + si.LastError + ")"
	}
	switch si.Status {
	case SetupSucceeded:
	case SetupRequiresPaymentMethod:
		return PaymentMethod{}, refuse("the payment method was declined%s: setup intent %s is %s; try another one", why, id, si.Status)
	case SetupRequiresAction:
		return PaymentMethod{}, refuse("setup intent %s is %s: finish the bank's check (3-D Secure or the bank's page) in the browser, then confirm again", id, si.Status)
	case SetupProcessing:
		return PaymentMethod{}, refuse("setup intent %s is %s: the bank has not confirmed it yet; it is saved when Stripe reports it succeeded", id, si.Status)
	default:
		return PaymentMethod{}, refuse("setup intent %s is %s, not succeeded: start a new setup", id, si.Status)
	}
	if si.PaymentMethod.ID == "" {
		return PaymentMethod{}, refuse("setup intent %s succeeded but saved no payment method", id)
	}
	return si.PaymentMethod, nil
}

// saveDefault makes pm, which the processor saved for the user, their
// default payment method. It is the one way a saved method is recorded,
// from a confirmation or a webhook: a method that is the default already
// is left as it is, so the page's confirmation and Stripe's
// setup_intent.succeeded, whichever comes second, change nothing. changed
// reports whether it wrote; the answer is the method as stored.
func (s *Service) saveDefault(ctx context.Context, t tenant.Tenant, userID string, pm PaymentMethod) (out PaymentMethod, changed bool, err error) {
	pm.TenantID, pm.UserID, pm.Mode, pm.Default, pm.CreatedAt = t.ID, userID, t.Mode, true, s.clock()
	err = s.repo.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.repo.DefaultPaymentMethod(ctx, t.ID, userID, t.Mode)
		switch {
		case err == nil && cur.ID == pm.ID:
			out = cur
			return nil
		case err != nil && fault.KindOf(err) != fault.KindNotFound:
			return err
		}
		out, changed = pm, true
		return s.repo.PutPaymentMethod(ctx, pm)
	})
	if err != nil {
		return PaymentMethod{}, false, err
	}
	return out, changed, nil
}

// Subscribed is a subscription made or changed, and the role its user
// holds now.
type Subscribed struct {
	Subscription Subscription `json:"subscription"`
	Role         actor.Role   `json:"role"`
	// PaymentSecret is the client secret of the first payment, for
	// Stripe.js to confirm when Stripe needs the customer (Stripe only).
	PaymentSecret string `json:"payment_client_secret,omitempty"`
	Next          string `json:"next,omitempty"`
}

// current is the user's subscription that is not canceled; found is false
// when there is none.
func (s *Service) current(ctx context.Context, t tenant.Tenant, userID string) (Subscription, bool, error) {
	sub, err := s.repo.CurrentSubscription(ctx, t.ID, userID, t.Mode)
	switch {
	case err == nil:
		return sub, true, nil
	case fault.KindOf(err) == fault.KindNotFound:
		return Subscription{}, false, nil
	}
	return Subscription{}, false, err
}

// price is the processor's price of plan p every i. The Mock's prices
// follow the parameters (they are made or replaced here when they do
// not); Stripe's are made by `gpubroker billing sync-plans`.
func (s *Service) price(ctx context.Context, t tenant.Tenant, b Backend, p PlanID, i Interval) (Price, error) {
	key := LookupKey(p, i)
	found, err := pricesByKey(ctx, b, []string{key})
	if err != nil {
		return Price{}, err
	}
	if b.Kind() == BackendMock {
		plan, _ := PlansFrom(s.params.Snapshot(), t.ID, t.Mode).Plan(p)
		price, _, err := ensurePrice(ctx, b, plan, plan.Price(i), found)
		return price, err
	}
	price, ok := found[key]
	if !ok {
		return Price{}, fault.Unavailable("%s has no price %s yet: an operator makes the plans' prices with `gpubroker billing sync-plans`", b.Kind(), key)
	}
	return price, nil
}

// grant gives the user the role of plan p (a POD Admin keeps theirs) and
// answers the role they hold.
func (s *Service) grant(ctx context.Context, t tenant.Tenant, userID string, p PlanID) (actor.Role, error) {
	u, err := s.people.Person(ctx, t.ID, userID)
	if err != nil {
		return "", err
	}
	role, change := RoleAfter(u.Role, p)
	if !change {
		return u.Role, nil
	}
	if _, err := s.people.SetRole(ctx, actor.System("billing"), t.ID, userID, role); err != nil {
		return "", fmt.Errorf("give user %s the role of plan %s: %w", userID, p, err)
	}
	s.log.InfoContext(ctx, "plan paid; role changed", "tenant", t.ID, "user", userID, "plan", string(p), "from", string(u.Role), "to", string(role))
	return role, nil
}

// record writes sub and, when the processor took its payment, the role of
// its plan, in one transaction.
func (s *Service) record(ctx context.Context, t tenant.Tenant, userID string, sub Subscription, paid bool) (Subscribed, error) {
	out := Subscribed{}
	err := s.repo.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out.Subscription, err = s.repo.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		if paid {
			out.Role, err = s.grant(ctx, t, userID, sub.Plan)
			return err
		}
		u, err := s.people.Person(ctx, t.ID, userID)
		out.Role = u.Role
		return err
	})
	return out, err
}

// PreviewSubscribe says what Subscribe would do and cost.
func (s *Service) PreviewSubscribe(ctx context.Context, t tenant.Tenant, userID string, p PlanID, i Interval) (string, error) {
	if err := CheckChoice(p, i); err != nil {
		return "", err
	}
	b, _, err := s.backend(t)
	if err != nil {
		return "", err
	}
	if err := s.free(ctx, t, userID); err != nil {
		return "", err
	}
	plan, _ := s.Plans(t).Plan(p)
	price := plan.Price(i)
	effect := fmt.Sprintf("subscribe to %s %s at %s %s with %s", p.Name(), i, price.Amount.Decimal(), price.Currency, b.Kind())
	if b.Kind() == BackendMock {
		return effect + "; the first payment is taken at once from your default payment method, and your role becomes " + string(p.Role()), nil
	}
	return effect + "; the plan starts once Stripe reports the first payment", nil
}

// free refuses a user who pays for a plan already.
func (s *Service) free(ctx context.Context, t tenant.Tenant, userID string) error {
	cur, found, err := s.current(ctx, t, userID)
	if err != nil {
		return err
	}
	if found && cur.Status.Paying() {
		return subscribed(cur)
	}
	return nil
}

// claimHeld is how long a subscription being made keeps the user's place
// before another call may take it: longer than the processor's calls
// with all their retries can take.
const claimHeld = 15 * time.Minute

// subscribed refuses a second subscription beside cur.
func subscribed(cur Subscription) error {
	return fault.Conflict("you are subscribed to %s %s already (%s): change_plan moves to another plan or interval", cur.Plan.Name(), cur.Interval, cur.Status)
}

// Subscribe subscribes the user to plan p paid every i. The subscription
// is recorded incomplete, then made at the processor: with the Mock the
// first payment is taken at once, the subscription is active and the user
// holds the plan's role when this answers; a declined payment is an
// invalid payment_method carrying the decline code, and nothing is
// subscribed. With Stripe the subscription stays incomplete, and the
// user's plan and role unchanged, until Stripe's webhooks report the first
// payment.
func (s *Service) Subscribe(ctx context.Context, t tenant.Tenant, userID string, p PlanID, i Interval) (Subscribed, error) {
	if err := CheckChoice(p, i); err != nil {
		return Subscribed{}, err
	}
	b, choice, err := s.backend(t)
	if err != nil {
		return Subscribed{}, err
	}
	cur, found, err := s.current(ctx, t, userID)
	if err != nil {
		return Subscribed{}, err
	}
	if found && cur.Status.Paying() {
		return Subscribed{}, subscribed(cur)
	}
	if found && cur.BackendID == "" && s.clock().Sub(cur.UpdatedAt) < claimHeld {
		return Subscribed{}, fault.Conflict("a subscription to %s %s is being made for you (%s); try again in a moment", cur.Plan.Name(), cur.Interval, cur.ID)
	}
	c, err := s.customer(ctx, t, userID, b, choice.Account(t.ID))
	if err != nil {
		return Subscribed{}, err
	}
	price, err := s.price(ctx, t, b, p, i)
	if err != nil {
		return Subscribed{}, err
	}
	var pmID string
	if pm, err := s.repo.DefaultPaymentMethod(ctx, t.ID, userID, t.Mode); err == nil && pm.Backend == b.Kind() {
		pmID = pm.ID
	} else if err != nil && fault.KindOf(err) != fault.KindNotFound {
		return Subscribed{}, err
	}
	now := s.clock()
	sub := Subscription{ID: "bsub_" + uuid.Must(uuid.NewV7()).String(), TenantID: t.ID, UserID: userID, Mode: t.Mode, Backend: b.Kind(),
		Plan: p, Interval: i, Status: Incomplete, Revision: 1, CreatedAt: now, UpdatedAt: now}
	// The record comes first: it holds the user's one place, so two calls
	// at once cannot both subscribe. An incomplete one from before (made
	// at the processor, or a record left by a call that never finished)
	// is given up for it.
	err = s.repo.InTx(ctx, func(ctx context.Context) error {
		if found {
			cur.Status, cur.UpdatedAt = Canceled, now
			if _, err := s.repo.UpdateSubscription(ctx, cur); err != nil {
				return err
			}
		}
		return s.repo.CreateSubscription(ctx, sub)
	})
	if err != nil {
		return Subscribed{}, err
	}
	bs, err := b.CreateSubscription(ctx, SubscriptionRequest{Customer: c.ID, Price: price.ID, PaymentMethod: pmID,
		IdempotencyKey: "gpubroker-subscribe-" + sub.ID, Metadata: map[string]string{"gpubroker_subscription": sub.ID,
			"gpubroker_tenant": t.ID, "gpubroker_user": userID, "gpubroker_plan": string(p), "gpubroker_interval": string(i)}})
	if err != nil {
		// The processor made nothing (or, when its answer was lost, an
		// incomplete subscription nobody pays, which it expires): the
		// record is given up.
		if derr := s.repo.DeleteSubscription(context.WithoutCancel(ctx), t.ID, sub.ID); derr != nil {
			s.log.ErrorContext(ctx, "give up a subscription not made", "tenant", t.ID, "subscription", sub.ID, "err", derr)
		}
		return Subscribed{}, declined(err, "payment_method", "the first payment")
	}
	sub.BackendID, sub.BackendItem, sub.CancelAtPeriodEnd = bs.ID, bs.Item, bs.CancelAtPeriodEnd
	sub.period(bs)
	sub.UpdatedAt = s.clock()
	if bs.Paid {
		sub.Status = Active
	}
	out, err := s.record(ctx, t, userID, sub, bs.Paid)
	if err != nil {
		return out, err
	}
	s.keepInvoice(ctx, t, userID, b.Kind(), bs.Invoice)
	out.PaymentSecret = bs.PaymentSecret
	if !bs.Paid {
		out.Next = "the subscription is incomplete until Stripe reports its first payment: confirm it in the browser with Stripe.js " +
			"(payment_client_secret) unless your saved payment method is charged; your plan changes then"
	}
	return out, nil
}

// paying is the user's subscription that holds a plan, made with b.
func (s *Service) paying(ctx context.Context, t tenant.Tenant, userID string, b Backend) (Subscription, error) {
	cur, found, err := s.current(ctx, t, userID)
	if err != nil {
		return cur, err
	}
	if !found || !cur.Status.Paying() {
		return cur, fault.Conflict("you have no active subscription: subscribe first")
	}
	if cur.Backend != b.Kind() {
		return cur, fault.Conflict("your subscription %s was made with %s, but %s serves tenant %s now", cur.ID, cur.Backend, b.Kind(), t.ID)
	}
	return cur, nil
}

// keepInvoice records the invoice a subscription call made (the first
// period, a proration), so it is listed and mailed at once. The payment
// stands either way: a record that fails is logged, and the processor's
// next word on the invoice (a webhook) records it.
func (s *Service) keepInvoice(ctx context.Context, t tenant.Tenant, userID string, kind BackendKind, inv *Invoice) {
	if inv == nil {
		return
	}
	in := *inv
	in.UserID, in.Mode, in.Backend = userID, t.Mode, kind
	if err := s.RecordInvoice(ctx, t, in); err != nil {
		s.log.ErrorContext(ctx, "record the invoice of a subscription", "tenant", t.ID, "user", userID, "invoice", in.ID, "err", err)
	}
}

// PreviewChange says what ChangePlan would do.
func (s *Service) PreviewChange(ctx context.Context, t tenant.Tenant, userID string, p PlanID, i Interval) (string, error) {
	if err := CheckChoice(p, i); err != nil {
		return "", err
	}
	b, _, err := s.backend(t)
	if err != nil {
		return "", err
	}
	cur, err := s.paying(ctx, t, userID, b)
	if err != nil {
		return "", err
	}
	if cur.Plan == p && cur.Interval == i {
		return "", fault.Conflict("you are on %s %s already", p.Name(), i)
	}
	plan, _ := s.Plans(t).Plan(p)
	price := plan.Price(i)
	return fmt.Sprintf("move from %s %s to %s %s at %s %s; the rest of the current period is prorated and the difference charged now "+
		"(or credited to the next invoice)", cur.Plan.Name(), cur.Interval, p.Name(), i, price.Amount.Decimal(), price.Currency), nil
}

// ChangePlan moves the user's active subscription to plan p paid every i,
// prorating the rest of the period. With the Mock the difference is
// charged at once and the plan and role change when this answers (a
// declined payment leaves both as they were); with Stripe the change
// waits, pending, for Stripe's webhooks to report its payment.
func (s *Service) ChangePlan(ctx context.Context, t tenant.Tenant, userID string, p PlanID, i Interval) (Subscribed, error) {
	if err := CheckChoice(p, i); err != nil {
		return Subscribed{}, err
	}
	b, _, err := s.backend(t)
	if err != nil {
		return Subscribed{}, err
	}
	cur, err := s.paying(ctx, t, userID, b)
	if err != nil {
		return Subscribed{}, err
	}
	if cur.Plan == p && cur.Interval == i {
		return Subscribed{}, fault.Conflict("you are on %s %s already", p.Name(), i)
	}
	// A change under way (being paid, or waiting for Stripe's word) holds
	// the subscription: a second one read before the first was recorded
	// would otherwise be paid too.
	if cur.PendingPlan != "" {
		return Subscribed{}, fault.Conflict("a change to %s %s is under way; wait until it is done", cur.PendingPlan.Name(), cur.PendingInterval)
	}
	price, err := s.price(ctx, t, b, p, i)
	if err != nil {
		return Subscribed{}, err
	}
	// The change is recorded pending first, on the revision read: of two
	// changes at once only one reaches the processor.
	before := cur
	cur.PendingPlan, cur.PendingInterval, cur.UpdatedAt = p, i, s.clock()
	if cur, err = s.repo.UpdateSubscription(ctx, cur); err != nil {
		return Subscribed{}, err
	}
	// A key per call: a retry after a decline (with a new card) is a new
	// payment, while stripe-go's own retries of this one share it.
	bs, err := b.ChangeSubscription(ctx, ChangeRequest{ID: cur.BackendID, Item: cur.BackendItem, Price: price.ID,
		IdempotencyKey: "gpubroker-change-" + cur.ID + "-" + uuid.Must(uuid.NewV7()).String()})
	if err != nil {
		before.Revision, before.UpdatedAt = cur.Revision, s.clock()
		if _, uerr := s.repo.UpdateSubscription(context.WithoutCancel(ctx), before); uerr != nil {
			s.log.ErrorContext(ctx, "undo a change the processor refused", "tenant", t.ID, "subscription", cur.ID, "err", uerr)
		}
		return Subscribed{}, declined(err, "payment_method", "the payment for the change")
	}
	if bs.Paid {
		cur.Plan, cur.Interval, cur.PendingPlan, cur.PendingInterval = p, i, "", ""
		cur.period(bs)
	} else {
		cur.PendingPlan, cur.PendingInterval = p, i
	}
	cur.UpdatedAt = s.clock()
	s.keepInvoice(ctx, t, userID, b.Kind(), bs.Invoice)
	out, err := s.record(ctx, t, userID, cur, bs.Paid)
	if fault.KindOf(err) == fault.KindConflict && !bs.Paid {
		// The pending change was recorded before the processor was asked;
		// a conflict now is its webhook, applying the change or moving
		// the subscription on, which got there first: what it recorded
		// stands.
		return s.standing(ctx, t, userID, cur.ID)
	}
	if err == nil && !bs.Paid {
		out.Next = "the change is pending until Stripe reports its payment; your plan changes then"
	}
	return out, err
}

// standing answers a subscription as recorded and its user's role.
func (s *Service) standing(ctx context.Context, t tenant.Tenant, userID, id string) (Subscribed, error) {
	sub, err := s.repo.Subscription(ctx, t.ID, id)
	if err != nil {
		return Subscribed{}, err
	}
	u, err := s.people.Person(ctx, t.ID, userID)
	if err != nil {
		return Subscribed{}, err
	}
	out := Subscribed{Subscription: sub, Role: u.Role}
	if sub.PendingPlan != "" {
		out.Next = "the change is pending until Stripe reports its payment; your plan changes then"
	}
	return out, nil
}

// PreviewCancel says what Cancel would do.
func (s *Service) PreviewCancel(ctx context.Context, t tenant.Tenant, userID string) (string, error) {
	b, _, err := s.backend(t)
	if err != nil {
		return "", err
	}
	cur, err := s.paying(ctx, t, userID, b)
	if err != nil {
		return "", err
	}
	end := "the end of the current period"
	if cur.PeriodEnd != nil {
		end = cur.PeriodEnd.Format(time.RFC3339)
	}
	return fmt.Sprintf("end your %s %s subscription at %s; you keep the plan until then, then return to FREE", cur.Plan.Name(), cur.Interval, end), nil
}

// Cancel ends the user's subscription when its current period ends; the
// plan holds until then. Cancelling twice changes nothing.
func (s *Service) Cancel(ctx context.Context, t tenant.Tenant, userID string) (Subscription, error) {
	b, _, err := s.backend(t)
	if err != nil {
		return Subscription{}, err
	}
	cur, err := s.paying(ctx, t, userID, b)
	if err != nil || cur.CancelAtPeriodEnd {
		return cur, err
	}
	bs, err := b.CancelAtPeriodEnd(ctx, cur.BackendID, "gpubroker-cancel-"+cur.ID)
	if err != nil {
		return Subscription{}, err
	}
	cur.CancelAtPeriodEnd, cur.UpdatedAt = true, s.clock()
	if !bs.PeriodEnd.IsZero() {
		cur.period(bs)
	}
	return s.repo.UpdateSubscription(ctx, cur)
}

// held is the plan a user's subscription (if found) gives them: FREE
// unless it is paying for another.
func held(cur Subscription, found bool) PlanID {
	if found && cur.Status.Paying() {
		return cur.Plan
	}
	return Free
}

// PlanOf is the plan user holds in tenant t, with its features: FREE
// unless a subscription pays for another. It reads the parameters and the
// user's subscription, never the processor. A POD Admin runs the tenant
// and holds no plan: their terms (and the agent's, acting for them) are
// the operator's, every GPU, no bound on pods, billing.markup_percent.
func (s *Service) PlanOf(ctx context.Context, t tenant.Tenant, userID string) (Plan, error) {
	u, err := s.people.Person(ctx, t.ID, userID)
	if err != nil && fault.KindOf(err) != fault.KindNotFound {
		return Plan{}, err
	}
	if err == nil && u.Role == actor.RolePodAdmin {
		snap := s.params.Snapshot()
		return Plan{Name: "POD Admin", Role: actor.RolePodAdmin, Features: Features{GPUClasses: []string{"*"},
			MarkupPercent: snap.Float(t.ID, t.Mode, "billing.markup_percent"), Support: SupportPriority, AgentAccess: true}}, nil
	}
	cur, found, err := s.current(ctx, t, userID)
	if err != nil {
		return Plan{}, err
	}
	p, _ := PlansFrom(s.params.Snapshot(), t.ID, t.Mode).Plan(held(cur, found))
	return p, nil
}

// Account is where a user stands: the plan they hold, their subscription
// and default payment method, and the backend serving their tenant.
type Account struct {
	Plan          PlanID         `json:"plan"`
	Backend       BackendKind    `json:"backend,omitempty"`
	Subscription  *Subscription  `json:"subscription,omitempty"`
	PaymentMethod *PaymentMethod `json:"payment_method,omitempty"`
}

// Account reads where the user stands. The plan is FREE unless a
// subscription pays for another.
func (s *Service) Account(ctx context.Context, t tenant.Tenant, userID string) (Account, error) {
	out := Account{Plan: Free}
	if c, err := Choose(s.params.Snapshot(), t); err == nil {
		out.Backend = c.Kind
	}
	cur, found, err := s.current(ctx, t, userID)
	if err != nil {
		return out, err
	}
	if found {
		out.Subscription = &cur
	}
	out.Plan = held(cur, found)
	pm, err := s.repo.DefaultPaymentMethod(ctx, t.ID, userID, t.Mode)
	switch {
	case err == nil:
		out.PaymentMethod = &pm
	case fault.KindOf(err) != fault.KindNotFound:
		return out, err
	}
	return out, nil
}
