package web

import (
	"net/http"
	"net/url"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/tools"
)

// payView is the payment page's data: the plan chosen, how the tenant
// takes payment, the setup to confirm, and what went wrong.
type payView struct {
	Plan     billing.Plan
	Interval billing.Interval
	Price    billing.PlanPrice
	Setup    billing.Setup
	Form     form
	// Mock is the SANDBOX processor: a test card number is typed here.
	Mock bool
	// Stripe takes the payment method in Stripe Elements, with the
	// setup's publishable key and client secret.
	Stripe bool
}

// signedInOr sends a visitor to sign in first, coming back here after.
func (p *Pages) signedInOr(w http.ResponseWriter, r *http.Request) (signedIn, bool) {
	s, ok := user(r)
	if !ok {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	}
	return s, ok
}

// choice reads the plan and interval asked for, PRO monthly by default.
func choice(r *http.Request) (billing.PlanID, billing.Interval) {
	plan, interval := billing.PlanID(r.FormValue("plan")), billing.Interval(r.FormValue("interval"))
	if plan == "" {
		plan = billing.Pro
	}
	if interval == "" {
		interval = billing.Monthly
	}
	return plan, interval
}

// payPage starts saving a payment method for the plan chosen and shows
// how to give it: with the SANDBOX processor, a test card number.
func (p *Pages) payPage(w http.ResponseWriter, r *http.Request, status int, f form) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	planID, interval := choice(r)
	var ps billing.Plans
	if err := p.call(r, s.actor, tools.ToolListPlans, struct{}{}, &ps); err != nil {
		p.fail(w, r, err)
		return
	}
	plan, found := ps.Plan(planID)
	if !found || billing.CheckChoice(planID, interval) != nil {
		p.notFound(w, r)
		return
	}
	v := payView{Plan: plan, Interval: interval, Price: plan.Price(interval), Form: f}
	if err := p.call(r, s.actor, tools.ToolStartPaymentSetup, tools.PaymentSetupInput{}, &v.Setup); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Mock = v.Setup.Backend == billing.BackendMock
	v.Stripe = v.Setup.Backend == billing.BackendStripe && v.Setup.PublishableKey != "" && v.Setup.ClientSecret != ""
	if v.Stripe {
		// Only this page loads Stripe.js; every other keeps our origin's
		// policy.
		w.Header().Set("Content-Security-Policy", stripePolicy)
	}
	p.render(w, r, status, "pay", view{Title: "Pay for " + plan.Name, Data: v})
}

func (p *Pages) payForm(w http.ResponseWriter, r *http.Request) {
	p.payPage(w, r, http.StatusOK, newForm(r))
}

// pay confirms the setup with the card given (SANDBOX), or the one Stripe
// Elements confirmed in the browser, and subscribes; a declined card is
// shown and can be tried again with another.
func (p *Pages) pay(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	f := newForm(r, "card_number")
	plan, interval := choice(r)
	in := tools.ConfirmSetupInput{SetupIntent: r.PostFormValue("setup_intent_id"), CardNumber: f.Values["card_number"]}
	var saved any
	if err := p.call(r, s.actor, tools.ToolConfirmPaymentSetup, in, &saved); err != nil {
		f.refuse(err)
		p.payPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	var sub billing.Subscribed
	if err := p.call(r, s.actor, tools.ToolSubscribe, tools.PlanChoice{Plan: plan, Interval: interval}, &sub); err != nil {
		f.refuse(err)
		p.payPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	// The plan changed the person's role: the session takes it now
	// rather than at its next renewal.
	if _, err := p.renew(r.Context(), s.session); err != nil {
		p.d.Log.WarnContext(r.Context(), "renew the session after subscribing", "err", err)
	}
	p.render(w, r, http.StatusOK, "paid", view{Title: "Welcome to " + string(sub.Subscription.Plan), Data: sub})
}
