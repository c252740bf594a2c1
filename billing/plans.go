package billing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/providers"
)

// PlanID names a plan.
type PlanID string

// The plans. FREE is what a user without a subscription has; PRO and
// ENTERPRISE are paid for.
const (
	Free       PlanID = "free"
	Pro        PlanID = "pro"
	Enterprise PlanID = "enterprise"
)

// PlanIDs lists every plan, cheapest first.
var PlanIDs = []PlanID{Free, Pro, Enterprise}

// PaidPlans lists the plans a subscription is for.
var PaidPlans = []PlanID{Pro, Enterprise}

// Paid reports whether p is a plan one subscribes to.
func (p PlanID) Paid() bool { return slices.Contains(PaidPlans, p) }

// Valid reports whether p is a known plan.
func (p PlanID) Valid() bool { return slices.Contains(PlanIDs, p) }

// Name is the plan's name as people read it.
func (p PlanID) Name() string { return strings.ToUpper(string(p)) }

// Role is the role a user of the plan holds.
func (p PlanID) Role() actor.Role {
	switch p {
	case Pro:
		return actor.RoleProUser
	case Enterprise:
		return actor.RoleEnterpriseUser
	}
	return actor.RoleUser
}

// RoleAfter is the role a user holding current has once plan p is paid
// for, and whether it changes. A POD Admin stays one whatever they pay.
func RoleAfter(current actor.Role, p PlanID) (actor.Role, bool) {
	if current == actor.RolePodAdmin {
		return current, false
	}
	return p.Role(), p.Role() != current
}

// Interval is how often a subscription is paid.
type Interval string

// The intervals.
const (
	Monthly Interval = "monthly"
	Annual  Interval = "annual"
)

// Intervals lists both.
var Intervals = []Interval{Monthly, Annual}

// Valid reports whether i is a known interval.
func (i Interval) Valid() bool { return i == Monthly || i == Annual }

// next is the end of a period of i that starts at t.
func (i Interval) next(t time.Time) time.Time {
	if i == Annual {
		return t.AddDate(1, 0, 0)
	}
	return t.AddDate(0, 1, 0)
}

// CheckChoice refuses a plan or interval one cannot subscribe to, listing
// the valid ones.
func CheckChoice(p PlanID, i Interval) error {
	var problems []fault.Problem
	switch {
	case p == Free:
		problems = append(problems, fault.Problem{Field: "plan", Message: fmt.Sprintf(
			"free needs no subscription (cancel_subscription returns to it); subscribe to one of %s", joinPlans(PaidPlans))})
	case !p.Paid():
		problems = append(problems, fault.Problem{Field: "plan", Message: fmt.Sprintf("unknown plan %q; valid plans: %s", p, joinPlans(PaidPlans))})
	}
	if !i.Valid() {
		problems = append(problems, fault.Problem{Field: "interval", Message: fmt.Sprintf("unknown interval %q; valid intervals: %s, %s", i, Monthly, Annual)})
	}
	return fault.InvalidAll("no such plan or interval to subscribe to", problems)
}

func joinPlans(ps []PlanID) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// LookupKey is the lookup_key of the processor's price of plan p paid
// every i: gpubroker_pro_monthly, gpubroker_enterprise_annual…
func LookupKey(p PlanID, i Interval) string { return "gpubroker_" + string(p) + "_" + string(i) }

// ProductID is the id of plan p's product at the processor.
func ProductID(p PlanID) string { return "gpubroker_" + string(p) }

// Support is the support level a plan includes.
type Support string

// Support levels.
const (
	SupportCommunity Support = "community"
	SupportEmail     Support = "email"
	SupportPriority  Support = "priority"
)

// Features is what a plan allows.
type Features struct {
	// MaxRunningPods bounds the pods a user runs at once; 0 means no bound.
	MaxRunningPods int `json:"max_running_pods"`
	// GPUClasses are the GPU families a user may deploy (["*"]: all).
	GPUClasses    []string `json:"gpu_classes"`
	MarkupPercent float64  `json:"markup_percent"`
	Support       Support  `json:"support"`
	AgentAccess   bool     `json:"agent_access"`
}

// PriceSource says where a plan's price was read.
type PriceSource string

// Price sources: the parameters, or the processor's price found by its
// lookup key.
const (
	FromParameters PriceSource = "parameters"
	FromStripe     PriceSource = "stripe"
	FromMock       PriceSource = "mock"
)

// PlanPrice is what a plan costs every interval.
type PlanPrice struct {
	Interval  Interval     `json:"interval"`
	Amount    money.Amount `json:"amount"`
	Currency  string       `json:"currency"`
	LookupKey string       `json:"lookup_key,omitempty"`
	// PriceID is the processor's price, once found by its lookup key.
	PriceID string      `json:"price_id,omitempty"`
	Source  PriceSource `json:"source"`
}

// Plan is one plan with its prices and features.
type Plan struct {
	ID          PlanID     `json:"id"`
	Name        string     `json:"name"`
	Role        actor.Role `json:"role"`
	Monthly     PlanPrice  `json:"monthly"`
	Annual      PlanPrice  `json:"annual"`
	Features    Features   `json:"features"`
	Recommended bool       `json:"recommended"`
}

// Price returns the plan's price for interval i.
func (p Plan) Price(i Interval) PlanPrice {
	if i == Annual {
		return p.Annual
	}
	return p.Monthly
}

// FeatureRow is one line of the comparison table: a feature and its value
// in each plan, as people read it.
type FeatureRow struct {
	Feature string            `json:"feature"`
	Label   string            `json:"label"`
	Values  map[PlanID]string `json:"values"`
}

// Plans is the catalogue a tenant's users choose from.
type Plans struct {
	Currency    string       `json:"currency"`
	Plans       []Plan       `json:"plans"`
	Recommended PlanID       `json:"recommended"`
	Comparison  []FeatureRow `json:"comparison"`
}

// Plan returns plan id of the catalogue.
func (ps Plans) Plan(id PlanID) (Plan, bool) {
	for _, p := range ps.Plans {
		if p.ID == id {
			return p, true
		}
	}
	return Plan{}, false
}

// Params declares the plans (each paid plan's prices, every plan's
// features), the recommended plan, how long processor prices are cached,
// and how the Stripe client retries.
func Params() []params.Spec {
	type defaults struct {
		monthly, annual, pods, classes, markup, support, agent string
	}
	def := map[PlanID]defaults{
		Free:       {"", "", "1", "T4,L4,A10,A10G,3090,4090,A4000,A5000", "20", string(SupportCommunity), "false"},
		Pro:        {"29", "290", "5", "T4,L4,A10,A10G,3090,4090,5090,A4000,A5000,A6000,A40,L40,L40S,RTX6000ADA,V100,A100", "12", string(SupportEmail), "false"},
		Enterprise: {"199", "1990", "50", "*", "8", string(SupportPriority), "true"},
	}
	var out []params.Spec
	for _, p := range PlanIDs {
		d := def[p]
		name := p.Name()
		if p.Paid() {
			out = append(out,
				params.Spec{Key: planKey(p, "monthly_usd"), Type: params.TypeMoney, Default: d.monthly, Affects: params.AffectsBoth, Group: "plans",
					Description: fmt.Sprintf("Price of the %s plan per month, in billing.currency (whole cents); Stripe's price has the lookup key %s.", name, LookupKey(p, Monthly)),
					Rules:       []params.Rule{params.MoneyRange(money.Cent, 1_000_000*money.Dollar), wholeCents()}},
				params.Spec{Key: planKey(p, "annual_usd"), Type: params.TypeMoney, Default: d.annual, Affects: params.AffectsBoth, Group: "plans",
					Description: fmt.Sprintf("Price of the %s plan per year, in billing.currency (whole cents); Stripe's price has the lookup key %s.", name, LookupKey(p, Annual)),
					Rules:       []params.Rule{params.MoneyRange(money.Cent, 1_000_000*money.Dollar), wholeCents()}})
		}
		out = append(out,
			params.Spec{Key: planKey(p, "max_running_pods"), Type: params.TypeInt, Default: d.pods, Affects: params.AffectsBoth, Group: "plans",
				Description: fmt.Sprintf("Pods a user of the %s plan may run at once; 0 means no bound.", name), Rules: []params.Rule{params.Range(0, 100_000)}},
			params.Spec{Key: planKey(p, "gpu_classes"), Type: params.TypeString, Default: d.classes, Affects: params.AffectsBoth, Group: "plans",
				Description: fmt.Sprintf("GPU families a user of the %s plan may deploy, comma-separated (H100,A100,…), or * for every one.", name),
				Rules:       []params.Rule{gpuClassesRule()}},
			params.Spec{Key: planKey(p, "markup_percent"), Type: params.TypeFloat, Default: d.markup, Affects: params.AffectsBoth, Group: "plans",
				Description: fmt.Sprintf("Markup on the provider's price for users of the %s plan, in percent.", name), Rules: []params.Rule{params.Range(0, 500)}},
			params.Spec{Key: planKey(p, "support"), Type: params.TypeEnum, Enum: []string{string(SupportCommunity), string(SupportEmail), string(SupportPriority)},
				Default: d.support, Affects: params.AffectsBoth, Group: "plans", Description: fmt.Sprintf("Support level of the %s plan.", name)},
			params.Spec{Key: planKey(p, "agent_access"), Type: params.TypeBool, Default: d.agent, Affects: params.AffectsBoth, Group: "plans",
				Description: fmt.Sprintf("Whether users of the %s plan may use the procurement agent.", name)})
	}
	return append(out,
		params.Spec{Key: "plans.recommended", Type: params.TypeEnum, Enum: []string{string(Free), string(Pro), string(Enterprise)}, Default: string(Pro),
			Affects: params.AffectsBoth, Group: "plans", Description: "The plan the plans page recommends."},
		params.Spec{Key: "plans.price_cache_ttl", Type: params.TypeDuration, Default: "10m", Affects: params.AffectsBoth, Group: "plans",
			Description: "How long the prices found at the payment processor are listed before they are looked up again (in the background: listing plans never waits on the processor).",
			Rules:       []params.Rule{params.DurationRange(time.Second, 24*time.Hour)}},
		params.Spec{Key: "billing.credits_min_usd", Type: params.TypeMoney, Default: "5", Affects: params.AffectsBoth, Group: "billing",
			Description: "Least prepaid credit one purchase buys, in billing.currency (whole cents).",
			Rules:       []params.Rule{params.MoneyRange(money.Cent, 1_000_000*money.Dollar), wholeCents()}},
		params.Spec{Key: "billing.credits_max_usd", Type: params.TypeMoney, Default: "10000", Affects: params.AffectsBoth, Group: "billing",
			Description: "Most prepaid credit one purchase buys, in billing.currency (whole cents).",
			Rules:       []params.Rule{params.MoneyRange(money.Cent, 1_000_000*money.Dollar), wholeCents()}},
		params.Spec{Key: "billing.payment_retry_days", Type: params.TypeString, Default: "1,3,5", Affects: params.AffectsBoth, Group: "billing",
			Description: "When a failed subscription payment is tried again, in days after the first failure; each failure mails the user, and after the last the plan falls back to FREE and the user's running pods are stopped.",
			Rules:       []params.Rule{retryDaysRule()}},
		params.Spec{Key: "billing.low_balance_usd", Type: params.TypeMoney, Default: "5", Affects: params.AffectsBoth, Group: "billing",
			Description: "When usage takes a user's prepaid credit below this, they are mailed once (until they buy more); 0 mails no one.",
			Rules:       []params.Rule{params.MoneyRange(0, 1_000_000*money.Dollar)}},
		params.Spec{Key: "stripe.max_network_retries", Type: params.TypeInt, Default: "2", Affects: params.AffectsBoth, Group: "stripe",
			Description: "How often the Stripe client retries a request that failed on the network or with a retryable answer, with the same idempotency key.",
			Rules:       []params.Rule{params.Range(0, 5)}},
		params.Spec{Key: "stripe.timeout", Type: params.TypeDuration, Default: "30s", Affects: params.AffectsBoth, Group: "stripe",
			Description: "Timeout of one request to Stripe (each retry has its own).", Rules: []params.Rule{params.DurationRange(time.Second, 2*time.Minute)}},
	)
}

func planKey(p PlanID, what string) string { return "plans." + string(p) + "." + what }

func wholeCents() params.Rule {
	return params.Rule{Desc: "must be whole cents", Check: func(_ mode.Mode, v params.Value) bool { return v.Money()%money.Cent == 0 }}
}

// gpuFamilies is every GPU family the platform knows.
var gpuFamilies = func() map[string]bool {
	m := map[string]bool{}
	for _, g := range providers.GPUModels {
		m[g.Family] = true
	}
	return m
}()

// parseClasses reads a gpu_classes value: * or known families.
func parseClasses(s string) ([]string, error) {
	if strings.TrimSpace(s) == "*" {
		return []string{"*"}, nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !gpuFamilies[f] {
			return nil, fmt.Errorf("unknown GPU family %q", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func gpuClassesRule() params.Rule {
	return params.Rule{Desc: "must be * or comma-separated GPU families such as H100,A100",
		Check: func(_ mode.Mode, v params.Value) bool { _, err := parseClasses(v.String()); return err == nil }}
}

// PlansFrom builds the catalogue a tenant's users see in mode m from the
// parameters alone: prices as declared, no processor ids.
func PlansFrom(s *params.Snapshot, tenantID string, m mode.Mode) Plans {
	cur := s.String(tenantID, m, "billing.currency")
	rec := PlanID(s.String(tenantID, m, "plans.recommended"))
	out := Plans{Currency: cur, Recommended: rec}
	for _, id := range PlanIDs {
		p := Plan{ID: id, Name: id.Name(), Role: id.Role(), Recommended: id == rec,
			Monthly: PlanPrice{Interval: Monthly, Currency: cur, Source: FromParameters},
			Annual:  PlanPrice{Interval: Annual, Currency: cur, Source: FromParameters}}
		if id.Paid() {
			p.Monthly.Amount, p.Monthly.LookupKey = s.Money(tenantID, m, planKey(id, "monthly_usd")), LookupKey(id, Monthly)
			p.Annual.Amount, p.Annual.LookupKey = s.Money(tenantID, m, planKey(id, "annual_usd")), LookupKey(id, Annual)
		}
		classes, _ := parseClasses(s.String(tenantID, m, planKey(id, "gpu_classes"))) // validated when set
		p.Features = Features{
			MaxRunningPods: int(s.Int(tenantID, m, planKey(id, "max_running_pods"))),
			GPUClasses:     classes,
			MarkupPercent:  s.Float(tenantID, m, planKey(id, "markup_percent")),
			Support:        Support(s.String(tenantID, m, planKey(id, "support"))),
			AgentAccess:    s.Bool(tenantID, m, planKey(id, "agent_access")),
		}
		out.Plans = append(out.Plans, p)
	}
	out.Comparison = compare(out.Plans)
	return out
}

// compare writes the comparison table of plans.
func compare(plans []Plan) []FeatureRow {
	row := func(feature, label string, value func(Plan) string) FeatureRow {
		r := FeatureRow{Feature: feature, Label: label, Values: map[PlanID]string{}}
		for _, p := range plans {
			r.Values[p.ID] = value(p)
		}
		return r
	}
	return []FeatureRow{
		row("monthly_price", "Price per month", func(p Plan) string { return priceText(p.Monthly) }),
		row("annual_price", "Price per year", func(p Plan) string { return priceText(p.Annual) }),
		row("max_running_pods", "Pods running at once", func(p Plan) string {
			if p.Features.MaxRunningPods == 0 {
				return "unlimited"
			}
			return strconv.Itoa(p.Features.MaxRunningPods)
		}),
		row("gpu_classes", "GPU families", func(p Plan) string {
			if slices.Equal(p.Features.GPUClasses, []string{"*"}) {
				return "all"
			}
			return strings.Join(p.Features.GPUClasses, ", ")
		}),
		row("markup_percent", "Markup on provider prices", func(p Plan) string {
			return strconv.FormatFloat(p.Features.MarkupPercent, 'f', -1, 64) + "%"
		}),
		row("support", "Support", func(p Plan) string { return string(p.Features.Support) }),
		row("agent_access", "Procurement agent", func(p Plan) string {
			if p.Features.AgentAccess {
				return "yes"
			}
			return "no"
		}),
	}
}

// priceText is a price for people: "29.00 USD", or "free".
func priceText(p PlanPrice) string {
	if p.Amount == 0 {
		return "free"
	}
	return p.Amount.Decimal() + " " + strings.ToUpper(p.Currency)
}

// AllowsGPU reports whether a plan with these features may deploy the
// canonical GPU model gpu: its family is one of GPUClasses, or they hold *.
func (f Features) AllowsGPU(gpu string) bool {
	if slices.Contains(f.GPUClasses, "*") {
		return true
	}
	m, ok := providers.LookupGPU(gpu)
	return ok && slices.Contains(f.GPUClasses, m.Family)
}
