package tools

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/providers"
)

// Tool names of the pods toolset.
const (
	ToolConfigurePod = "configure_pod"
	ToolQuotePod     = "quote_pod"
	ToolEstimatePod  = "estimate_pod"
	ToolListPods     = "list_pods"
	ToolGetPod       = "get_pod"
	ToolPodEvents    = "pod_events"
)

// PodServices are what the pod tools call: the pods service, and the
// offers they are priced on.
type PodServices struct {
	Offers OfferServices
	Pods   *pods.Service
	// Plans answers the plan a user holds: the markup on their pods, the
	// GPU classes they may deploy and how many pods they run at once.
	Plans PlanReader
	// Storage is what a GiB of extra disk costs per month in a tenant's
	// mode.
	Storage func(tenantID string, m mode.Mode) money.Amount
	// Deploy returns the deploy limits in a tenant's mode.
	Deploy func(tenantID string, m mode.Mode) DeployLimits
}

// RegisterPods registers the pods toolset.
func RegisterPods(r *Registry, s PodServices) {
	if s.Offers.Now == nil {
		s.Offers.Now = r.deps.Now
	}
	m := s.Machines(r.deps.Tenants)
	registerToolset(r, ToolsetPods, append([]listed{configurePod(s), estimatePod(s), quotePod(s), deployPod(s), listPods(s), getPod(s), podEvents(s),
		activatePod(s, m), podHeartbeat(s), scalePod(s)}, podLifecycle(s, m)...)...)
}

// PodRef names one pod.
type PodRef struct {
	TenantRef
	ID string `json:"id" jsonschema:"the pod id"`
}

// ConfigurePodInput is the input of configure_pod: a configuration, and to
// change a saved draft its id and the revision read.
type ConfigurePodInput struct {
	TenantRef
	Control
	ID       string `json:"id,omitempty" jsonschema:"a draft to change; empty saves a new draft"`
	Revision int64  `json:"revision,omitempty" jsonschema:"the draft's revision you read (required with id)"`
	pods.Config
}

// Validate implements Validator.
func (in *ConfigurePodInput) Validate() error {
	if in.ID != "" && in.Revision < 1 {
		return fault.Invalid("revision", "give the revision of the draft you read")
	}
	return in.Config.Validate()
}

// PodQuote is a pod with what it costs.
type PodQuote struct {
	Pod      pods.Pod        `json:"pod"`
	Estimate pods.Estimate   `json:"estimate"`
	Offer    providers.Offer `json:"offer"`
}

// QuoteOutput is the output of quote_pod: the draft re-priced on its offer
// now, and the offer that would be chosen for it now.
type QuoteOutput struct {
	Pod pods.Pod `json:"pod"`
	// Current prices the pod's own offer; absent when the offer is gone.
	Current *pods.Estimate `json:"current,omitempty"`
	// Best prices the best offer its configuration fits now (with provider
	// auto or its named provider).
	Best pods.Estimate `json:"best"`
	// MovedPercent is how far the current price moved from the quoted one.
	MovedPercent float64 `json:"moved_percent"`
}

// ListPodsInput is the input of list_pods.
type ListPodsInput struct {
	TenantRef
	State pods.State `json:"state,omitempty" jsonschema:"only pods in this state"`
	Limit int        `json:"limit,omitempty" jsonschema:"at most this many (default 100, max 500)"`
}

// Validate implements Validator.
func (in *ListPodsInput) Validate() error {
	if in.State != "" && !in.State.Valid() {
		return fault.Invalid("state", "want one of %v, got %q", pods.States, in.State)
	}
	if in.Limit < 0 || in.Limit > 500 {
		return fault.Invalid("limit", "want 0 to 500, got %d", in.Limit)
	}
	return nil
}

// PodList is the output of list_pods.
type PodList struct {
	Pods []pods.Pod `json:"pods"`
}

// PodHistory is the output of pod_events.
type PodHistory struct {
	Events []pods.Transition `json:"events"`
}

// ownerOf makes pod id's owner the owner of the call, so the ownership
// policy lets users reach only their own pods (faces answer another
// user's pod as not found). An empty id targets no pod.
func (s PodServices) ownerOf(ctx context.Context, c *Call, id string, t *policies.Target) error {
	if id == "" {
		return nil
	}
	p, err := s.Pods.Get(ctx, c.Tenant.ID, id)
	if err != nil {
		return err
	}
	t.OwnerID = p.OwnerID
	return nil
}

// ranker ranks offers of snap by TOPSIS with the caller's tenant's weights.
func (s PodServices) ranker(c *Call, snap *market.Snapshot) pods.Ranker {
	w := s.Offers.weights(c)
	return func(offers []providers.Offer) ([]market.Ranked, error) {
		return market.Rank(offers, w, snap.Reliability)
	}
}

// admitted are the offers of the providers whose declared shapes cfg fits.
// A named provider that does not sell such machines is answered with each
// broken limit; with auto, so is a configuration no provider sells.
func admitted(agg *market.Aggregator, cfg pods.Config, offers []providers.Offer) ([]providers.Offer, error) {
	shapes := func(provider string) []fault.Problem {
		ad, _ := agg.Adapter(provider)
		if sh, ok := ad.(providers.Shaper); ok {
			return pods.FitShapes(cfg, provider, sh.Shapes())
		}
		return nil
	}
	if cfg.Provider != pods.Auto {
		if _, ok := agg.Adapter(cfg.Provider); !ok {
			return nil, fault.Invalid("provider", "unknown provider %q; valid: auto, %s", cfg.Provider, strings.Join(agg.Providers(), ", "))
		}
		if ps := shapes(cfg.Provider); len(ps) > 0 {
			return nil, fault.InvalidAll("the configuration is beyond the machines "+cfg.Provider+" sells", ps)
		}
		return offers, nil
	}
	verdict := map[string][]fault.Problem{}
	var out []providers.Offer
	var refusals []fault.Problem
	for _, o := range offers {
		ps, seen := verdict[o.Provider]
		if !seen {
			ps = shapes(o.Provider)
			verdict[o.Provider] = ps
			if o.GPU == cfg.GPU {
				refusals = append(refusals, ps...)
			}
		}
		if len(ps) == 0 {
			out = append(out, o)
		}
	}
	if len(out) == 0 && len(refusals) > 0 {
		return nil, fault.InvalidAll("no provider sells machines of this configuration", refusals)
	}
	return out, nil
}

// terms are what the plan of owner gives them in the caller's tenant:
// the plan itself and the prices of their pods.
func (s PodServices) terms(ctx context.Context, c *Call, owner string) (billing.Plan, pods.Prices, error) {
	plan, err := s.Plans.PlanOf(ctx, c.Tenant, owner)
	if err != nil {
		return plan, pods.Prices{}, err
	}
	return plan, pods.Prices{MarkupPercent: plan.Features.MarkupPercent, StorageGiBMonth: s.Storage(c.Tenant.ID, c.Tenant.Mode)}, nil
}

// allowed refuses a GPU the owner's plan does not deploy.
func allowed(plan billing.Plan, gpu string) error {
	if plan.Features.AllowsGPU(gpu) {
		return nil
	}
	return fault.Forbidden("the %s plan deploys %s GPUs, not %s: a plan that allows it is compared in list_plans",
		plan.Name, strings.Join(plan.Features.GPUClasses, ", "), gpu)
}

// ownerFor is who owns pod id, or the caller for a pod not made yet.
func (s PodServices) ownerFor(ctx context.Context, c *Call, id string) (string, error) {
	if id == "" {
		return c.Actor.ID, nil
	}
	p, err := s.Pods.Get(ctx, c.Tenant.ID, id)
	return p.OwnerID, err
}

// quote chooses and prices the offer cfg is deployed on for owner, in the
// caller's tenant and mode and on the terms of owner's plan.
func (s PodServices) quote(ctx context.Context, c *Call, owner string, cfg pods.Config) (pods.Estimate, providers.Offer, error) {
	plan, prices, err := s.terms(ctx, c, owner)
	if err != nil {
		return pods.Estimate{}, providers.Offer{}, err
	}
	if err := allowed(plan, cfg.GPU); err != nil {
		return pods.Estimate{}, providers.Offer{}, err
	}
	agg, snap, err := s.Offers.current(ctx, c)
	if err != nil {
		return pods.Estimate{}, providers.Offer{}, err
	}
	offers, err := admitted(agg, cfg, snap.Offers)
	if err != nil {
		return pods.Estimate{}, providers.Offer{}, err
	}
	o, err := pods.Choose(cfg, offers, s.ranker(c, snap))
	if err != nil {
		return pods.Estimate{}, providers.Offer{}, err
	}
	e, err := pods.Price(cfg, o, prices)
	return e, o, err
}

func configurePod(s PodServices) Def[ConfigurePodInput, PodQuote] {
	return Def[ConfigurePodInput, PodQuote]{
		Name: ToolConfigurePod, Title: "Configure a pod", Group: ToolsetPods, MinRole: actor.RoleUser,
		Description: "Save a GPU pod's configuration as a draft (no cost until deployed), or change a draft (id and the revision read). " +
			"The configuration must fit the offer it runs on: give offer_id, or provider auto (or a provider id) to choose the best-ranked " +
			"offer that fits, and its GPU must be one the owner's plan deploys. Answers the draft and its estimate per hour, day and 30-day month: " +
			"provider price, the plan's markup, storage.",
		Method: http.MethodPost, Path: "/pods", Status: http.StatusCreated,
		Also: []Route{{Method: http.MethodPatch, Path: "/pods/{id}", Status: http.StatusOK}},
		Target: func(ctx context.Context, c *Call, in *ConfigurePodInput, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Preview: func(ctx context.Context, c *Call, in *ConfigurePodInput) (Preview, error) {
			owner, err := s.ownerFor(ctx, c, in.ID)
			if err != nil {
				return Preview{}, err
			}
			e, o, err := s.quote(ctx, c, owner, in.Config)
			if err != nil {
				return Preview{}, err
			}
			verb := "save the draft"
			if in.ID != "" {
				verb = "change draft " + in.ID + " to"
			}
			return Preview{Effect: fmt.Sprintf("%s %s: %d × %s on %s %s (%s), about %s an hour once deployed",
				verb, in.Name, in.GPUCount, in.GPU, o.Provider, o.Region, o.ID, e.Hour)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *ConfigurePodInput) (PodQuote, error) {
			owner, err := s.ownerFor(ctx, c, in.ID)
			if err != nil {
				return PodQuote{}, err
			}
			e, o, err := s.quote(ctx, c, owner, in.Config)
			if err != nil {
				return PodQuote{}, err
			}
			cfg := in.Config
			cfg.OfferID = o.ID // the region stays what was asked: failover may go elsewhere
			var p pods.Pod
			if in.ID == "" {
				p, err = s.Pods.CreateDraft(ctx, c.Actor, c.Tenant.ID, c.Actor.ID, cfg, e.Rate())
			} else {
				var cur pods.Pod
				if cur, err = s.Pods.Get(ctx, c.Tenant.ID, in.ID); err == nil {
					cur.Revision = in.Revision
					p, err = s.Pods.UpdateDraft(ctx, c.Actor, cur, cfg, e.Rate())
				}
			}
			return PodQuote{Pod: p, Estimate: e, Offer: o}, err
		},
	}
}

// EstimatePodInput is the input of estimate_pod: a configuration, whose
// name may still be empty.
type EstimatePodInput struct {
	TenantRef
	pods.Config
}

// Validate implements Validator: the configuration's rules, the name's
// aside.
func (in *EstimatePodInput) Validate() error {
	cfg := in.Config
	if cfg.Name == "" {
		cfg.Name = "estimate"
	}
	return cfg.Validate()
}

// MachineLimits are the machines a provider sells: what a configuration on it
// may ask for.
type MachineLimits struct {
	Provider  string   `json:"provider"`
	GPUCounts []int    `json:"gpu_counts"`
	VCPU      Range    `json:"vcpu"`
	RAMGiB    Range    `json:"ram_gib"`
	DiskGiB   Range    `json:"disk_gib"`
	Regions   []string `json:"regions"`
}

// Range is an inclusive range of sizes.
type Range struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// EstimateOutput is the output of estimate_pod.
type EstimateOutput struct {
	Estimate pods.Estimate   `json:"estimate"`
	Offer    providers.Offer `json:"offer"`
	// Limits bound the configuration on the offer's provider.
	Limits MachineLimits `json:"limits"`
}

func estimatePod(s PodServices) Def[EstimatePodInput, EstimateOutput] {
	return Def[EstimatePodInput, EstimateOutput]{
		Name: ToolEstimatePod, Title: "Estimate a pod", Group: ToolsetPods, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "Price a configuration without saving it, as configure_pod would: the offer it would run on (offer_id, or the best-ranked " +
			"of provider auto or the provider named), its cost per hour, day and 30-day month on the caller's plan, and the limits of " +
			"that provider's machines (GPU counts, vCPU, RAM, disk, regions). The name may be left empty.",
		Method: http.MethodGet, Path: "/pods/estimate",
		Handle: func(ctx context.Context, c *Call, in *EstimatePodInput) (EstimateOutput, error) {
			e, o, err := s.quote(ctx, c, c.Actor.ID, in.Config)
			if err != nil {
				return EstimateOutput{}, err
			}
			out := EstimateOutput{Estimate: e, Offer: o, Limits: MachineLimits{Provider: o.Provider}}
			agg, err := s.Offers.Markets.For(ctx, c.Tenant.ID, c.Tenant.Mode == mode.Live)
			if err != nil {
				return out, err
			}
			if ad, ok := agg.Adapter(o.Provider); ok {
				if sh, ok := ad.(providers.Shaper); ok {
					l := sh.Shapes()
					out.Limits = MachineLimits{Provider: o.Provider, GPUCounts: l.GPUCounts, VCPU: Range(l.VCPU), RAMGiB: Range(l.RAMGiB),
						DiskGiB: Range(l.DiskGiB), Regions: l.Regions}
				}
			}
			return out, nil
		},
	}
}

func quotePod(s PodServices) Def[PodRef, QuoteOutput] {
	return Def[PodRef, QuoteOutput]{
		Name: ToolQuotePod, Title: "Re-price a pod", Group: ToolsetPods, MinRole: actor.RoleUser, ReadOnly: true, OpenWorld: true,
		Description: "Price a pod again against the offers of now: on its own offer (how far the price moved since it was quoted) " +
			"and on the best offer its configuration fits now.",
		Method: http.MethodGet, Path: "/pods/{id}/quote",
		Target: func(ctx context.Context, c *Call, in *PodRef, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Handle: func(ctx context.Context, c *Call, in *PodRef) (QuoteOutput, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return QuoteOutput{}, err
			}
			out := QuoteOutput{Pod: p}
			if cur, _, err := s.quote(ctx, c, p.OwnerID, p.Config); err == nil {
				out.Current = &cur
				out.MovedPercent = p.PriceMoved(cur.Hour)
			}
			best := p.Config
			best.OfferID = ""
			if out.Best, _, err = s.quote(ctx, c, p.OwnerID, best); err != nil {
				return out, err
			}
			return out, nil
		},
	}
}

func listPods(s PodServices) Def[ListPodsInput, PodList] {
	return Def[ListPodsInput, PodList]{
		Name: ToolListPods, Title: "List pods", Group: ToolsetPods, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "List pods newest first: a user's own, or every pod of the tenant for a POD Admin.",
		Method:      http.MethodGet, Path: "/pods",
		Handle: func(ctx context.Context, c *Call, in *ListPodsInput) (PodList, error) {
			f := pods.Filter{TenantID: c.Tenant.ID, Limit: in.Limit}
			if f.Limit == 0 {
				f.Limit = 100
			}
			if in.State != "" {
				f.States = []pods.State{in.State}
			}
			if c.Actor.Role != actor.RolePodAdmin {
				f.OwnerID = c.Actor.ID
			}
			list, err := s.Pods.List(ctx, f)
			return PodList{Pods: list}, err
		},
	}
}

func getPod(s PodServices) Def[PodRef, pods.Pod] {
	return Def[PodRef, pods.Pod]{
		Name: ToolGetPod, Title: "Get a pod", Group: ToolsetPods, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "Show one pod: its configuration, state, revision and price.",
		Method:      http.MethodGet, Path: "/pods/{id}",
		Target: func(ctx context.Context, c *Call, in *PodRef, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Handle: func(ctx context.Context, c *Call, in *PodRef) (pods.Pod, error) {
			return s.Pods.Get(ctx, c.Tenant.ID, in.ID)
		},
	}
}

func podEvents(s PodServices) Def[PodRef, PodHistory] {
	return Def[PodRef, PodHistory]{
		Name: ToolPodEvents, Title: "A pod's history", Group: ToolsetPods, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "Every state a pod entered, oldest first: when, from what, why and by whom.",
		Method:      http.MethodGet, Path: "/pods/{id}/events",
		Target: func(ctx context.Context, c *Call, in *PodRef, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Handle: func(ctx context.Context, c *Call, in *PodRef) (PodHistory, error) {
			h, err := s.Pods.History(ctx, c.Tenant.ID, in.ID)
			return PodHistory{Events: h}, err
		},
	}
}

// ToolDeployPod is the name of deploy_pod.
const ToolDeployPod = "deploy_pod"

// DeployPodInput is the input of deploy_pod.
type DeployPodInput struct {
	PodRef
	Control
}

// Deployment is the output of deploy_pod: the pod, now pending, and what
// it costs.
type Deployment struct {
	Pod      pods.Pod      `json:"pod"`
	Estimate pods.Estimate `json:"estimate"`
}

// reserve is what a spending pod call holds against the budget: an hourly
// price for pods.deploy_reserve_hours.
func (s PodServices) reserve(c *Call, hour money.Amount) (money.Amount, error) {
	return hour.MulRat(s.Deploy(c.Tenant.ID, c.Tenant.Mode).ReserveHours, 1)
}

// DeployLimits reads the deploy parameters of a tenant's mode.
type DeployLimits struct {
	ReserveHours     int64
	TolerancePercent float64
}

func deployPod(s PodServices) Def[DeployPodInput, Deployment] {
	return Def[DeployPodInput, Deployment]{
		Name: ToolDeployPod, Title: "Deploy a pod", Group: ToolsetPods, MinRole: actor.RoleUser, Spends: true, Holds: true, OpenWorld: true,
		Description: "Deploy a draft: its price for pods.deploy_reserve_hours is reserved against the budget, the pod becomes pending and " +
			"is provisioned on its offer (or, if the provider cannot, the next-ranked offer it fits). If the price moved more than " +
			"pods.price_tolerance_percent since the draft was quoted, nothing is deployed and the answer gives the new quote. The owner's " +
			"plan bounds how many pods run at once.",
		Method: http.MethodPost, Path: "/pods/{id}/deploy", Status: http.StatusAccepted,
		Target: func(ctx context.Context, c *Call, in *DeployPodInput, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Estimate: func(ctx context.Context, c *Call, in *DeployPodInput) (money.Amount, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return 0, err
			}
			return s.reserve(c, p.PriceHour)
		},
		Preview: func(ctx context.Context, c *Call, in *DeployPodInput) (Preview, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Preview{}, err
			}
			if err := pods.Move(p.ID, p.State, pods.Pending); err != nil {
				return Preview{}, err
			}
			return Preview{Effect: fmt.Sprintf("deploy %s: %d × %s on %s at %s an hour", p.Name, p.GPUCount, p.GPU, p.OfferID, p.PriceHour)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *DeployPodInput) (Deployment, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Deployment{}, err
			}
			if err := pods.Move(p.ID, p.State, pods.Pending); err != nil {
				return Deployment{}, err
			}
			e, o, err := s.quote(ctx, c, p.OwnerID, p.Config)
			if err != nil {
				return Deployment{}, err
			}
			if tol := s.Deploy(c.Tenant.ID, c.Tenant.Mode).TolerancePercent; o.ID == p.OfferID {
				if moved := p.PriceMoved(e.Hour); moved > tol || moved < -tol {
					return Deployment{}, fault.Conflict("the price of pod %s moved %.1f%% since it was quoted (%s an hour, now %s): "+
						"configure it again to accept the new quote", p.ID, moved, p.PriceHour, e.Hour)
				}
			}
			p, err = s.Pods.Deploy(ctx, c.Actor, p, c.Reservation)
			return Deployment{Pod: p, Estimate: e}, err
		},
		Compensate: func(in *DeployPodInput, out *Deployment) (Undo, bool) {
			return Undo{Tool: ToolTerminatePod, Args: PodCommand{PodRef: in.PodRef}}, true
		},
	}
}

// machines provisions pods on the tenant's market: the pods toolset's way
// of choosing and pricing offers, and each provider's adapter.
type machines struct {
	s       PodServices
	tenants Tenants
}

// Machines returns what provisioning needs of the market.
func (s PodServices) Machines(tenants Tenants) pods.Machines { return machines{s: s, tenants: tenants} }

func (m machines) call(ctx context.Context, p pods.Pod) (*Call, error) {
	tn, err := m.tenants.Lookup(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	return &Call{Tenant: tn}, nil
}

// Candidates are the offers p fits now, best first.
func (m machines) Candidates(ctx context.Context, p pods.Pod) ([]providers.Offer, error) {
	c, err := m.call(ctx, p)
	if err != nil {
		return nil, err
	}
	agg, snap, err := m.s.Offers.current(ctx, c)
	if err != nil {
		return nil, err
	}
	offers, err := admitted(agg, p.Config, snap.Offers)
	if err != nil {
		return nil, err
	}
	return pods.Fitting(p.Config, offers, m.s.ranker(c, snap))
}

// Provisioner is the provider's adapter in the pod's tenant and mode.
func (m machines) Provisioner(ctx context.Context, p pods.Pod, provider string) (providers.Provisioner, error) {
	c, err := m.call(ctx, p)
	if err != nil {
		return nil, err
	}
	agg, _, err := m.s.Offers.current(ctx, c)
	if err != nil {
		return nil, err
	}
	ad, ok := agg.Adapter(provider)
	if !ok {
		return nil, fault.NotFound("provider", provider)
	}
	prov, ok := ad.(providers.Provisioner)
	if !ok {
		return nil, fault.Unavailable("provider %s cannot start machines", provider)
	}
	return prov, nil
}

// Price is p's hourly rate on o with the platform's prices.
func (m machines) Price(ctx context.Context, p pods.Pod, o providers.Offer) (pods.Rate, error) {
	c, err := m.call(ctx, p)
	if err != nil {
		return pods.Rate{}, err
	}
	_, prices, err := m.s.terms(ctx, c, p.OwnerID)
	if err != nil {
		return pods.Rate{}, err
	}
	e, err := pods.Price(p.Config, o, prices)
	return e.Rate(), err
}

// Tool names of the pod lifecycle.
const (
	ToolStopPod      = "stop_pod"
	ToolStartPod     = "start_pod"
	ToolTerminatePod = "terminate_pod"
)

// PodCommand is the input of the lifecycle tools.
type PodCommand struct {
	PodRef
	Control
}

// lifecycle builds one lifecycle tool: its move, its words and its call.
func lifecycle(s PodServices, m pods.Machines, name, title, desc, path string, to pods.State, destructive bool, undo string,
	run func(ctx context.Context, by actor.Actor, p pods.Pod, m pods.Machines) (pods.Pod, error)) Def[PodCommand, pods.Pod] {
	var compensate func(in *PodCommand, out *pods.Pod) (Undo, bool)
	if undo != "" {
		compensate = func(in *PodCommand, _ *pods.Pod) (Undo, bool) {
			return Undo{Tool: undo, Args: PodCommand{PodRef: in.PodRef}}, true
		}
	}
	return Def[PodCommand, pods.Pod]{
		Compensate: compensate,
		Name:       name, Title: title, Group: ToolsetPods, MinRole: actor.RoleUser, Destructive: destructive, Idempotent: destructive, OpenWorld: true,
		Description: desc, Method: http.MethodPost, Path: path,
		Target: func(ctx context.Context, c *Call, in *PodCommand, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Preview: func(ctx context.Context, c *Call, in *PodCommand) (Preview, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Preview{}, err
			}
			if p.State != to && !(to == pods.Terminated && p.State.Final()) {
				if err := pods.Move(p.ID, p.State, nextFor(p.State, to)); err != nil {
					return Preview{}, err
				}
			}
			return Preview{Effect: fmt.Sprintf("pod %s (%s) becomes %s", p.Name, p.State, to)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *PodCommand) (pods.Pod, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return pods.Pod{}, err
			}
			// A worker may move the pod (pending → provisioning) between
			// the read and the move: the move is made again on the pod as
			// it is now, a few times, and refused only if that move is.
			for attempt := 1; ; attempt++ {
				out, err := run(ctx, c.Actor, p, m)
				if fault.KindOf(err) != fault.KindConflict || attempt == 3 {
					return out, err
				}
				now, gerr := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
				if gerr != nil || now.Revision == p.Revision {
					return out, err
				}
				p = now
			}
		},
	}
}

// nextFor is the first move towards to: a live pod terminates through
// terminating.
func nextFor(from, to pods.State) pods.State {
	if to == pods.Terminated && from.Live() && from != pods.Terminating {
		return pods.Terminating
	}
	return to
}

func podLifecycle(s PodServices, m pods.Machines) []listed {
	return []listed{
		lifecycle(s, m, ToolStopPod, "Stop a pod", "Stop a running pod's machine at its provider; it stops costing compute and can be started again. "+
			"Providers whose API cannot stop machines refuse it (terminate instead).", "/pods/{id}/stop", pods.Stopped, false, ToolStartPod, s.Pods.Stop),
		lifecycle(s, m, ToolStartPod, "Start a pod", "Start a stopped pod's machine again.", "/pods/{id}/start", pods.Running, false, ToolStopPod, s.Pods.Start),
		lifecycle(s, m, ToolTerminatePod, "Terminate a pod", "Remove a pod for good: its machine is terminated at the provider and the pod "+
			"can no longer be started. A draft is discarded. Terminating a terminated pod changes nothing.", "/pods/{id}/terminate",
			pods.Terminated, true, "", s.Pods.Terminate),
	}
}

// Tool names of activation and activity.
const (
	ToolActivatePod  = "activate_pod"
	ToolPodHeartbeat = "pod_heartbeat"
)

// ActivatePodInput is the input of activate_pod.
type ActivatePodInput struct {
	PodRef
	Control
	Token string `json:"token" audit:"redact" jsonschema:"the activation token from the link in the activation email"`
}

// Validate implements Validator.
func (in *ActivatePodInput) Validate() error {
	if in.Token == "" {
		return fault.Invalid("token", "give the token of the activation link")
	}
	return nil
}

func activatePod(s PodServices, m pods.Machines) Def[ActivatePodInput, pods.Pod] {
	return Def[ActivatePodInput, pods.Pod]{
		Name: ToolActivatePod, Title: "Activate a pod", Group: ToolsetPods, MinRole: actor.RoleUser, OpenWorld: true,
		Description: "Start using a ready pod with the token of its activation link (sent by email when the pod became ready; " +
			"single use, it expires): the pod becomes running and the answer carries how to reach it (SSH, JupyterLab). " +
			"A wrong token is refused as unauthenticated, a used or expired one as gone.",
		Method: http.MethodPost, Path: "/pods/{id}/activate",
		Target: func(ctx context.Context, c *Call, in *ActivatePodInput, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Preview: func(ctx context.Context, c *Call, in *ActivatePodInput) (Preview, error) {
			return s.previewMove(ctx, c, in.ID, pods.Running, "is activated and becomes running")
		},
		Handle: func(ctx context.Context, c *Call, in *ActivatePodInput) (pods.Pod, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return pods.Pod{}, err
			}
			return s.Pods.Activate(ctx, c.Actor, p, in.Token, m)
		},
	}
}

func podHeartbeat(s PodServices) Def[PodCommand, pods.Pod] {
	return Def[PodCommand, pods.Pod]{
		Name: ToolPodHeartbeat, Title: "Report a pod active", Group: ToolsetPods, MinRole: actor.RoleUser, Idempotent: true,
		Description: "Tell the platform a running pod is in use (sent from the pod, with its owner's API token), so the idle " +
			"auto-stop (pods.idle_stop_after) leaves it running.",
		Method: http.MethodPost, Path: "/pods/{id}/heartbeat",
		Target: func(ctx context.Context, c *Call, in *PodCommand, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Preview: func(ctx context.Context, c *Call, in *PodCommand) (Preview, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Preview{}, err
			}
			if p.State != pods.Running {
				return Preview{}, fault.Conflict("pod %s is %s: only a running pod sends heartbeats", p.ID, p.State)
			}
			return Preview{Effect: fmt.Sprintf("pod %s is recorded active now", p.Name)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *PodCommand) (pods.Pod, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return pods.Pod{}, err
			}
			return s.Pods.Heartbeat(ctx, p)
		},
	}
}

// previewMove checks that pod id may move to state to and says so.
func (s PodServices) previewMove(ctx context.Context, c *Call, id string, to pods.State, effect string) (Preview, error) {
	p, err := s.Pods.Get(ctx, c.Tenant.ID, id)
	if err != nil {
		return Preview{}, err
	}
	if err := pods.Move(p.ID, p.State, to); err != nil {
		return Preview{}, err
	}
	return Preview{Effect: fmt.Sprintf("pod %s (%s) %s", p.Name, p.State, effect)}, nil
}

// ToolScalePod is the name of scale_pod.
const ToolScalePod = "scale_pod"

// ScalePodInput is the input of scale_pod.
type ScalePodInput struct {
	PodRef
	Control
	GPUCount int    `json:"gpu_count,omitempty" jsonschema:"GPUs wanted; the pod's count when 0"`
	OfferID  string `json:"offer_id,omitempty" jsonschema:"the offer to move to; the best-ranked offer that fits when empty"`
}

// Validate implements Validator.
func (in *ScalePodInput) Validate() error {
	switch {
	case in.GPUCount < 0 || in.GPUCount > 16:
		return fault.Invalid("gpu_count", "want 1 to 16, got %d", in.GPUCount)
	case in.GPUCount == 0 && in.OfferID == "":
		return fault.Invalid("gpu_count", "give a GPU count or an offer to move to")
	}
	return nil
}

// scaleTarget is where in moves pod p, priced in the caller's tenant.
func (s PodServices) scaleTarget(ctx context.Context, c *Call, p pods.Pod, in *ScalePodInput) (pods.Scale, pods.Estimate, error) {
	cfg := p.Config
	if in.GPUCount > 0 {
		cfg.GPUCount = in.GPUCount
	}
	cfg.OfferID = in.OfferID
	e, o, err := s.quote(ctx, c, p.OwnerID, cfg)
	if err != nil {
		return pods.Scale{}, e, err
	}
	cfg.OfferID = o.ID
	return pods.Scale{Config: cfg, Rate: e.Rate()}, e, nil
}

func scalePod(s PodServices) Def[ScalePodInput, Deployment] {
	return Def[ScalePodInput, Deployment]{
		Name: ToolScalePod, Title: "Scale a pod", Group: ToolsetPods, MinRole: actor.RoleUser, Spends: true, Holds: true, OpenWorld: true,
		Description: "Move a running pod to another GPU count or another offer: a machine of the new shape is started, and only " +
			"once it runs does the pod switch to it (new connection details, new price) and the old machine is terminated. If the " +
			"new machine cannot start, the pod runs on as it was. The new price for pods.deploy_reserve_hours is reserved.",
		Method: http.MethodPost, Path: "/pods/{id}/scale", Status: http.StatusAccepted,
		Target: func(ctx context.Context, c *Call, in *ScalePodInput, t *policies.Target) error {
			return s.ownerOf(ctx, c, in.ID, t)
		},
		Estimate: func(ctx context.Context, c *Call, in *ScalePodInput) (money.Amount, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return 0, err
			}
			to, _, err := s.scaleTarget(ctx, c, p, in)
			if err != nil {
				return 0, err
			}
			return s.reserve(c, to.Rate.Hour())
		},
		Preview: func(ctx context.Context, c *Call, in *ScalePodInput) (Preview, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Preview{}, err
			}
			if err := p.Scalable(); err != nil {
				return Preview{}, err
			}
			to, _, err := s.scaleTarget(ctx, c, p, in)
			if err != nil {
				return Preview{}, err
			}
			return Preview{Effect: fmt.Sprintf("pod %s moves from %d × %s on %s at %s an hour to %d × %s on %s at %s an hour",
				p.Name, p.GPUCount, p.GPU, p.OfferID, p.PriceHour, to.Config.GPUCount, to.Config.GPU, to.Config.OfferID, to.Rate.Hour())}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *ScalePodInput) (Deployment, error) {
			p, err := s.Pods.Get(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Deployment{}, err
			}
			to, e, err := s.scaleTarget(ctx, c, p, in)
			if err != nil {
				return Deployment{}, err
			}
			to.Reservation = c.Reservation
			p, err = s.Pods.RequestScale(ctx, c.Actor, p, to)
			return Deployment{Pod: p, Estimate: e}, err
		},
		// The answer holds the pod as it was (the new shape waits in
		// ScaleTo), so scaling back asks for that shape.
		Compensate: func(in *ScalePodInput, out *Deployment) (Undo, bool) {
			return Undo{Tool: ToolScalePod, Args: ScalePodInput{PodRef: in.PodRef, GPUCount: out.Pod.GPUCount, OfferID: out.Pod.OfferID}}, true
		},
	}
}
