package tools

import (
	"context"
	"net/http"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

// Tool names of the billing toolset.
const (
	ToolListPlans           = "list_plans"
	ToolStartPaymentSetup   = "start_payment_setup"
	ToolConfirmPaymentSetup = "confirm_payment_setup"
	ToolSubscribe           = "subscribe"
	ToolChangePlan          = "change_plan"
	ToolCancelSubscription  = "cancel_subscription"
	ToolGetSubscription     = "get_subscription"
	ToolBuyCredits          = "buy_credits"
)

// BillingServices are what the billing tools call.
type BillingServices struct {
	Billing *billing.Service
}

// RegisterBilling registers the billing toolset.
func RegisterBilling(r *Registry, s BillingServices) {
	registerToolset(r, ToolsetBilling, listPlans(s), startPaymentSetup(s), confirmPaymentSetup(s), subscribe(s), changePlan(s),
		cancelSubscription(s), getSubscription(s), buyCredits(s))
	registerToolset(r, ToolsetBilling, invoiceTools(s)...)
}

// payer is the signed-in user a billing call is for: each user pays for
// their own plan, and an API token or the agent pays for no one's.
func payer(c *Call) (string, error) {
	if c.Actor.Kind != actor.KindUser {
		return "", fault.Forbidden("a plan is paid for by the signed-in user who holds it; %s credentials cannot", c.Actor.Kind)
	}
	return c.Actor.ID, nil
}

// ListPlansInput is the input of list_plans.
type ListPlansInput struct{}

func listPlans(s BillingServices) Def[ListPlansInput, billing.Plans] {
	return Def[ListPlansInput, billing.Plans]{
		Name: ToolListPlans, Title: "List the plans", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true, Public: true,
		Description: "List the plans one can pay for — FREE, PRO and ENTERPRISE — with their monthly and annual prices, a table " +
			"comparing their features (pods running at once, GPU families, markup on provider prices, support, the procurement " +
			"agent) and the recommended plan. Prices are the payment processor's, found by their lookup keys (gpubroker_pro_monthly…), " +
			"once known, else the parameters' (plans.*); listing never waits on the processor. Open to visitors who have not signed in.",
		Method: http.MethodGet, Path: "/plans",
		Handle: func(_ context.Context, c *Call, _ *ListPlansInput) (billing.Plans, error) {
			return s.Billing.Plans(c.Tenant), nil
		},
	}
}

// PaymentSetupInput is the input of start_payment_setup.
type PaymentSetupInput struct {
	Control
}

func startPaymentSetup(s BillingServices) Def[PaymentSetupInput, billing.Setup] {
	return Def[PaymentSetupInput, billing.Setup]{
		Name: ToolStartPaymentSetup, Title: "Start saving a payment method", Group: ToolsetBilling, MinRole: actor.RoleUser, OpenWorld: true,
		Description: "Start saving a payment method (card, SEPA debit or US bank account) to pay for a plan: makes you a customer of the " +
			"tenant's payment processor when you are not one, and answers a SetupIntent's client secret, the publishable key and " +
			"which backend serves the tenant. With stripe, confirm it in the browser with Stripe.js; with mock (SANDBOX without " +
			"Stripe keys), confirm it with confirm_payment_setup and a test card.",
		Method: http.MethodPost, Path: "/billing/setup", Status: http.StatusCreated,
		Preview: func(ctx context.Context, c *Call, _ *PaymentSetupInput) (Preview, error) {
			who, err := payer(c)
			if err != nil {
				return Preview{}, err
			}
			effect, err := s.Billing.PreviewSetup(ctx, c.Tenant, who)
			return Preview{Effect: effect}, err
		},
		Handle: func(ctx context.Context, c *Call, _ *PaymentSetupInput) (billing.Setup, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Setup{}, err
			}
			return s.Billing.StartSetup(ctx, c.Tenant, who)
		},
	}
}

// ConfirmSetupInput is the input of confirm_payment_setup.
type ConfirmSetupInput struct {
	Control
	SetupIntent string `json:"setup_intent_id" jsonschema:"the setup_intent_id start_payment_setup answered"`
	CardNumber  string `json:"card_number,omitempty" audit:"redact" jsonschema:"mock backend only, and required there: a test card number: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 is saved but its payments fail. With Stripe leave it out: a card number is refused"`
}

// Validate implements Validator. Whether card_number is needed depends on
// the tenant's backend, which the service knows: it refuses a card number
// with Stripe and asks for one with the mock.
func (in *ConfirmSetupInput) Validate() error {
	if in.SetupIntent == "" {
		return fault.Invalid("setup_intent_id", "give the setup_intent_id start_payment_setup answered")
	}
	return nil
}

func confirmPaymentSetup(s BillingServices) Def[ConfirmSetupInput, billing.PaymentMethod] {
	return Def[ConfirmSetupInput, billing.PaymentMethod]{
		Name: ToolConfirmPaymentSetup, Title: "Confirm a payment setup", Group: ToolsetBilling, MinRole: actor.RoleUser, OpenWorld: true,
		Description: "Save the payment method of your payment setup as your default. With Stripe, after stripe.confirmSetup succeeded " +
			"in the browser, give only its setup_intent_id: the setup is read back from Stripe and saved when it succeeded for your own " +
			"customer; one not succeeded is refused with its status (requires_payment_method: declined, try another; requires_action: " +
			"finish the bank's check), as is one of another customer. A card number is never accepted with Stripe — it goes from the " +
			"browser to Stripe alone. With the mock backend (a SANDBOX tenant without Stripe keys) card_number is required: one of " +
			"Stripe's test card numbers confirms the setup as Stripe.js would; a declined card is refused as an invalid card_number " +
			"carrying the decline code. Confirming a saved setup again, or after Stripe's webhook saved it, changes nothing.",
		Method: http.MethodPost, Path: "/billing/setup/confirm",
		Preview: func(ctx context.Context, c *Call, in *ConfirmSetupInput) (Preview, error) {
			who, err := payer(c)
			if err != nil {
				return Preview{}, err
			}
			effect, err := s.Billing.PreviewConfirm(ctx, c.Tenant, who, in.SetupIntent, in.CardNumber)
			return Preview{Effect: effect}, err
		},
		Handle: func(ctx context.Context, c *Call, in *ConfirmSetupInput) (billing.PaymentMethod, error) {
			who, err := payer(c)
			if err != nil {
				return billing.PaymentMethod{}, err
			}
			return s.Billing.ConfirmSetup(ctx, c.Tenant, who, in.SetupIntent, in.CardNumber)
		},
	}
}

// PlanChoice is the input of subscribe and change_plan.
type PlanChoice struct {
	Control
	Plan     billing.PlanID   `json:"plan" jsonschema:"the plan: pro or enterprise (free needs no subscription)"`
	Interval billing.Interval `json:"interval" jsonschema:"how often it is paid: monthly or annual"`
}

// Validate implements Validator.
func (in *PlanChoice) Validate() error { return billing.CheckChoice(in.Plan, in.Interval) }

func subscribe(s BillingServices) Def[PlanChoice, billing.Subscribed] {
	return Def[PlanChoice, billing.Subscribed]{
		Name: ToolSubscribe, Title: "Subscribe to a plan", Group: ToolsetBilling, MinRole: actor.RoleUser, OpenWorld: true,
		Description: "Subscribe to PRO or ENTERPRISE, paid monthly or annually, with your saved payment method. Your plan and role " +
			"(pro_user, enterprise_user) change only once the first payment succeeds: at once with the mock backend, where a " +
			"declined card is refused with its decline code and changes nothing; with Stripe the subscription stays incomplete " +
			"until Stripe reports the payment.",
		Method: http.MethodPost, Path: "/billing/subscription", Status: http.StatusCreated,
		Preview: func(ctx context.Context, c *Call, in *PlanChoice) (Preview, error) {
			who, err := payer(c)
			if err != nil {
				return Preview{}, err
			}
			effect, err := s.Billing.PreviewSubscribe(ctx, c.Tenant, who, in.Plan, in.Interval)
			return Preview{Effect: effect}, err
		},
		Handle: func(ctx context.Context, c *Call, in *PlanChoice) (billing.Subscribed, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Subscribed{}, err
			}
			return s.Billing.Subscribe(ctx, c.Tenant, who, in.Plan, in.Interval)
		},
	}
}

func changePlan(s BillingServices) Def[PlanChoice, billing.Subscribed] {
	return Def[PlanChoice, billing.Subscribed]{
		Name: ToolChangePlan, Title: "Change plan", Group: ToolsetBilling, MinRole: actor.RoleUser, OpenWorld: true,
		Description: "Move your active subscription to another plan or interval. The rest of the current period is prorated: the " +
			"difference is charged now, or credited to the next invoice. The plan and role change once that is paid (at once " +
			"with the mock backend; with Stripe the change is pending until Stripe reports the payment).",
		Method: http.MethodPatch, Path: "/billing/subscription",
		Preview: func(ctx context.Context, c *Call, in *PlanChoice) (Preview, error) {
			who, err := payer(c)
			if err != nil {
				return Preview{}, err
			}
			effect, err := s.Billing.PreviewChange(ctx, c.Tenant, who, in.Plan, in.Interval)
			return Preview{Effect: effect}, err
		},
		Handle: func(ctx context.Context, c *Call, in *PlanChoice) (billing.Subscribed, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Subscribed{}, err
			}
			return s.Billing.ChangePlan(ctx, c.Tenant, who, in.Plan, in.Interval)
		},
	}
}

// CancelInput is the input of cancel_subscription.
type CancelInput struct {
	Control
}

func cancelSubscription(s BillingServices) Def[CancelInput, billing.Subscription] {
	return Def[CancelInput, billing.Subscription]{
		Name: ToolCancelSubscription, Title: "Cancel the subscription", Group: ToolsetBilling, MinRole: actor.RoleUser,
		Destructive: true, Idempotent: true, OpenWorld: true,
		Description: "Cancel your subscription at the end of its current period: you keep the plan until then and return to FREE " +
			"afterwards. Cancelling twice changes nothing.",
		Method: http.MethodDelete, Path: "/billing/subscription",
		Preview: func(ctx context.Context, c *Call, _ *CancelInput) (Preview, error) {
			who, err := payer(c)
			if err != nil {
				return Preview{}, err
			}
			effect, err := s.Billing.PreviewCancel(ctx, c.Tenant, who)
			return Preview{Effect: effect}, err
		},
		Handle: func(ctx context.Context, c *Call, _ *CancelInput) (billing.Subscription, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Subscription{}, err
			}
			return s.Billing.Cancel(ctx, c.Tenant, who)
		},
	}
}

// GetSubscriptionInput is the input of get_subscription.
type GetSubscriptionInput struct{}

func getSubscription(s BillingServices) Def[GetSubscriptionInput, billing.Account] {
	return Def[GetSubscriptionInput, billing.Account]{
		Name: ToolGetSubscription, Title: "Show my plan", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "Show the plan you hold (FREE unless a subscription pays for another), your subscription (plan, interval, status " +
			"incomplete, active, past_due or canceled, current period, whether it ends at the period's end, a change pending), " +
			"your default payment method and the backend serving your tenant.",
		Method: http.MethodGet, Path: "/billing/subscription",
		Handle: func(ctx context.Context, c *Call, _ *GetSubscriptionInput) (billing.Account, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Account{}, err
			}
			return s.Billing.Account(ctx, c.Tenant, who)
		},
	}
}

// BuyCreditsInput is the input of buy_credits.
type BuyCreditsInput struct {
	Control
	Amount money.Amount `json:"amount" jsonschema:"the credit to buy, in billing.currency with whole cents, e.g. 50.00; billing.credits_min_usd to billing.credits_max_usd"`
}

func buyCredits(s BillingServices) Def[BuyCreditsInput, billing.Purchase] {
	return Def[BuyCreditsInput, billing.Purchase]{
		Name: ToolBuyCredits, Title: "Buy prepaid credit", Group: ToolsetBilling, MinRole: actor.RoleUser, OpenWorld: true,
		Description: "Buy prepaid credit with your saved payment method. Your pods' usage draws on credit first, then is billed " +
			"pay-as-you-go. The credit is added once the payment succeeds: at once with the mock backend (a refused card buys " +
			"nothing and answers its decline code); with Stripe when Stripe reports the payment.",
		Method: http.MethodPost, Path: "/billing/credits", Status: http.StatusCreated,
		Preview: func(ctx context.Context, c *Call, in *BuyCreditsInput) (Preview, error) {
			who, err := payer(c)
			if err != nil {
				return Preview{}, err
			}
			effect, err := s.Billing.PreviewBuyCredits(ctx, c.Tenant, who, in.Amount)
			return Preview{Effect: effect}, err
		},
		Handle: func(ctx context.Context, c *Call, in *BuyCreditsInput) (billing.Purchase, error) {
			who, err := payer(c)
			if err != nil {
				return billing.Purchase{}, err
			}
			return s.Billing.BuyCredits(ctx, c.Tenant, who, in.Amount)
		},
	}
}
