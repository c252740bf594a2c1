package tools

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/providers"
)

// Markets give the aggregator serving a tenant in its mode.
type Markets interface {
	For(ctx context.Context, tenantID string, live bool) (*market.Aggregator, error)
}

// PriceHistory reads stored price observations.
type PriceHistory interface {
	PriceHistory(ctx context.Context, q market.PriceQuery) ([]market.PricePoint, error)
}

// ListOffersInput is the input of list_offers. List filters take
// comma-separated values.
type ListOffersInput struct {
	GPU            string  `json:"gpu,omitempty" jsonschema:"canonical GPU models, comma-separated (e.g. H100-SXM-80GB,A100-SXM-80GB)"`
	Provider       string  `json:"provider,omitempty" jsonschema:"provider ids, comma-separated (e.g. lambda,runpod)"`
	Region         string  `json:"region,omitempty" jsonschema:"provider region ids, comma-separated"`
	Availability   string  `json:"availability,omitempty" jsonschema:"available, limited or none, comma-separated"`
	GPUCount       int     `json:"gpu_count,omitempty" jsonschema:"exact number of GPUs per machine"`
	MinGPUMemoryGB int     `json:"min_gpu_memory_gb,omitempty" jsonschema:"least memory per GPU, in GB"`
	MinPrice       float64 `json:"min_price,omitempty" jsonschema:"lowest price per hour in USD"`
	MaxPrice       float64 `json:"max_price,omitempty" jsonschema:"highest price per hour in USD"`
	Pricing        string  `json:"pricing,omitempty" jsonschema:"on_demand (default) or spot: spot lists only interruptible offers and prices them as such"`
	Sort           string  `json:"sort,omitempty" jsonschema:"price (default), performance, price_performance, topsis or availability"`
	Weights        string  `json:"weights,omitempty" jsonschema:"TOPSIS weights as criterion=weight pairs, comma-separated (price, gpu_memory, performance, price_performance, availability, reliability); default from the parameter providers.topsis_weights"`
	Limit          int     `json:"limit,omitempty" jsonschema:"offers per page, 1 to 200 (default 50)"`
	Cursor         string  `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

// Validate implements Validator: every filter value is checked against
// the values the platform knows, and the error lists them.
func (in *ListOffersInput) Validate() error {
	_, err := in.query(nil)
	return err
}

var pricings = []string{"on_demand", "spot"}

// The valid filter values, listed once.
var (
	gpuNames          = providers.GPUNames()
	providerIDs       = supportedIDs()
	availabilityNames = names(providers.Availabilities)
	sortKeyNames      = names(market.SortKeys)
)

func supportedIDs() []string {
	out := make([]string, len(providers.Supported))
	for i, p := range providers.Supported {
		out[i] = p.ID
	}
	return out
}

// oneOf checks each comma-separated value against valid.
func oneOf(field, raw string, valid []string) ([]string, *fault.Problem) {
	vals := market.ParseList(raw)
	for _, v := range vals {
		if !slices.Contains(valid, v) {
			return nil, &fault.Problem{Field: field, Message: fmt.Sprintf("unknown value %q; valid values: %s", v, strings.Join(valid, ", "))}
		}
	}
	return vals, nil
}

func names[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// query turns the input into a market.Query; bad values are reported
// together, each with its field and the valid values. Unknown filter
// values are malformed requests (400), as a misspelt query parameter is.
func (in *ListOffersInput) query(defaults market.Weights) (market.Query, error) {
	var probs []fault.Problem
	add := func(p *fault.Problem) {
		if p != nil {
			probs = append(probs, *p)
		}
	}
	q := market.Query{GPUCount: in.GPUCount, MinGPUMemoryGB: in.MinGPUMemoryGB, MinPrice: in.MinPrice,
		MaxPrice: in.MaxPrice, Limit: in.Limit, Cursor: in.Cursor, Weights: defaults}
	var p *fault.Problem
	q.GPUs, p = oneOf("gpu", in.GPU, gpuNames)
	add(p)
	q.Providers, p = oneOf("provider", in.Provider, providerIDs)
	add(p)
	q.Regions = market.ParseList(in.Region)
	var avail []string
	avail, p = oneOf("availability", in.Availability, availabilityNames)
	add(p)
	for _, a := range avail {
		q.Availability = append(q.Availability, providers.Availability(a))
	}
	if in.Sort != "" {
		_, p = oneOf("sort", in.Sort, sortKeyNames)
		add(p)
		q.Sort = market.SortKey(in.Sort)
	}
	if in.Pricing != "" {
		_, p = oneOf("pricing", in.Pricing, pricings)
		add(p)
		q.Spot = in.Pricing == "spot"
	}
	if in.Weights != "" {
		w, err := market.ParseWeights(in.Weights)
		if err != nil {
			add(&fault.Problem{Field: "weights", Message: err.Error()})
		}
		q.Weights = w
	}
	switch {
	case in.Limit < 0 || in.Limit > 200:
		add(&fault.Problem{Field: "limit", Message: "must be between 1 and 200"})
	case in.GPUCount < 0 || in.GPUCount > 64:
		add(&fault.Problem{Field: "gpu_count", Message: "must be between 1 and 64"})
	case in.MinGPUMemoryGB < 0:
		add(&fault.Problem{Field: "min_gpu_memory_gb", Message: "cannot be negative"})
	case in.MinPrice < 0 || in.MaxPrice < 0 || math.IsNaN(in.MinPrice) || math.IsNaN(in.MaxPrice):
		add(&fault.Problem{Field: "max_price", Message: "prices cannot be negative"})
	case in.MaxPrice > 0 && in.MinPrice > in.MaxPrice:
		add(&fault.Problem{Field: "min_price", Message: "is above max_price"})
	}
	if in.Cursor != "" {
		if _, ok := market.CursorSnapshot(in.Cursor); !ok {
			add(&fault.Problem{Field: "cursor", Message: "not a cursor this listing gave out"})
		}
	}
	if len(probs) > 0 {
		e := fault.Malformed("", "")
		e.Message, e.Problems = "bad offer filters", probs
		return q, e
	}
	return q, nil
}

// OfferDetail is the output of get_offer: the offer with what it is worth.
type OfferDetail struct {
	providers.Offer
	PricePerGPUHour  float64             `json:"price_per_gpu_hour"`
	TFLOPS           float64             `json:"tflops"`
	PricePerformance float64             `json:"price_performance"`
	Model            *providers.GPUModel `json:"model,omitempty"`
	ProviderName     string              `json:"provider_name"`
	ProviderHealth   market.Health       `json:"provider_health"`
	Mode             mode.Mode           `json:"mode"`
	AsOf             time.Time           `json:"as_of"`
	Recent           []market.PricePoint `json:"recent_prices,omitempty"`
}

// OfferInput names one offer.
type OfferInput struct {
	ID string `json:"id" jsonschema:"offer id from list_offers"`
}

// CompareOffersInput is the input of compare_offers.
type CompareOffersInput struct {
	IDs     string `json:"ids" jsonschema:"2 to 10 offer ids, comma-separated"`
	Weights string `json:"weights,omitempty" jsonschema:"TOPSIS weights as criterion=weight pairs; default from the parameter providers.topsis_weights"`
}

// Validate implements Validator.
func (in *CompareOffersInput) Validate() error {
	ids := market.ParseList(in.IDs)
	if len(ids) < 2 || len(ids) > 10 {
		return fault.Invalid("ids", "give 2 to 10 offer ids, comma-separated; got %d", len(ids))
	}
	if in.Weights != "" {
		if _, err := market.ParseWeights(in.Weights); err != nil {
			return fault.Malformed("weights", "%v", err)
		}
	}
	return nil
}

// ProviderHealthInput is the input of provider_health.
type ProviderHealthInput struct {
	Provider string `json:"provider,omitempty" jsonschema:"one provider id; all when empty"`
}

// ProviderStatus is one supported provider in the tenant's mode.
type ProviderStatus struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Mode mode.Mode `json:"mode"`
	// Active says whether the provider serves offers in this mode: in
	// SANDBOX when the simulation covers it, in LIVE when the tenant has
	// set its credentials.
	Active bool `json:"active"`
	market.Health
}

// ProviderList is the output of provider_health.
type ProviderList struct {
	Mode      mode.Mode        `json:"mode"`
	Providers []ProviderStatus `json:"providers"`
}

// PriceHistoryInput is the input of price_history.
type PriceHistoryInput struct {
	OfferID string `json:"offer_id,omitempty" jsonschema:"one offer; or give gpu"`
	GPU     string `json:"gpu,omitempty" jsonschema:"every offer of a canonical GPU model"`
	Hours   int    `json:"hours,omitempty" jsonschema:"how far back, 1 to 720 hours (default 24)"`
	Limit   int    `json:"limit,omitempty" jsonschema:"most points, 1 to 5000 (default 1000)"`
}

// Validate implements Validator.
func (in *PriceHistoryInput) Validate() error {
	var probs []fault.Problem
	if (in.OfferID == "") == (in.GPU == "") {
		probs = append(probs, fault.Problem{Field: "offer_id", Message: "give exactly one of offer_id and gpu"})
	}
	if in.GPU != "" {
		if _, p := oneOf("gpu", in.GPU, gpuNames); p != nil {
			probs = append(probs, *p)
		}
	}
	if in.Hours < 0 || in.Hours > 720 {
		probs = append(probs, fault.Problem{Field: "hours", Message: "must be between 1 and 720"})
	}
	if in.Limit < 0 || in.Limit > 5000 {
		probs = append(probs, fault.Problem{Field: "limit", Message: "must be between 1 and 5000"})
	}
	return fault.InvalidAll("bad price history request", probs)
}

// PriceSeries is the output of price_history.
type PriceSeries struct {
	Mode   mode.Mode           `json:"mode"`
	Points []market.PricePoint `json:"points"`
	Min    float64             `json:"min"`
	Max    float64             `json:"max"`
	Latest float64             `json:"latest"`
}

// OfferServices are what the offer tools need.
type OfferServices struct {
	Markets Markets
	Prices  PriceHistory
	// Weights returns a tenant's default TOPSIS weights in a mode (from
	// parameters); the answer is shared and must not be changed.
	Weights func(tenantID string, m mode.Mode) market.Weights
	// Now is the clock recent prices are read back from; RegisterOffers
	// sets the registry's (Deps.Now) when it is nil.
	Now func() time.Time
}

// Tool names of the offers toolset, for the packages that call them by name.
const (
	ToolListOffers     = "list_offers"
	ToolGetOffer       = "get_offer"
	ToolCompareOffers  = "compare_offers"
	ToolProviderHealth = "provider_health"
	ToolPriceHistory   = "price_history"
)

// RegisterOffers registers the offers toolset.
func RegisterOffers(r *Registry, s OfferServices) {
	if s.Now == nil {
		s.Now = r.deps.Now
	}
	registerToolset(r, ToolsetOffers,
		listOffers(s), getOffer(s), compareOffers(s), providerHealth(s), priceHistory(s), marketOverview(s))
}

func listOffers(s OfferServices) Def[ListOffersInput, market.Page] {
	return Def[ListOffersInput, market.Page]{
		Name: ToolListOffers, Title: "List GPU offers", Group: ToolsetOffers, MinRole: actor.RoleUser, ReadOnly: true, OpenWorld: true,
		Description: "List GPU offers from every provider in the tenant's mode (simulated in SANDBOX, real in LIVE), " +
			"filtered by GPU model, count, memory, price, region, provider, spot or on-demand and availability, sorted by " +
			"price, performance, price/performance, TOPSIS score or availability. Pages with next_cursor; a cursor keeps " +
			"its page exact even while prices change.",
		Method: http.MethodGet, Path: "/offers",
		Handle: func(ctx context.Context, c *Call, in *ListOffersInput) (market.Page, error) {
			q, err := in.query(s.weights(c))
			if err != nil {
				return market.Page{}, err
			}
			agg, snap, err := s.current(ctx, c)
			if err != nil {
				return market.Page{}, err
			}
			if at, ok := market.CursorSnapshot(q.Cursor); ok {
				if pinned, ok := agg.SnapshotAt(at); ok {
					snap = pinned
				}
			}
			page, err := snap.QueryMemo(q)
			if err != nil {
				return page, fault.Malformed("cursor", "%v", err)
			}
			return page, nil
		},
	}
}

func getOffer(s OfferServices) Def[OfferInput, OfferDetail] {
	return Def[OfferInput, OfferDetail]{
		Name: ToolGetOffer, Title: "Get an offer", Group: ToolsetOffers, MinRole: actor.RoleUser, ReadOnly: true, OpenWorld: true,
		Public: true,
		Description: "Show one offer with its price per GPU hour, performance, price/performance, GPU model, " +
			"its provider's health and its recent prices. Open to visitors who have not signed in.",
		Method: http.MethodGet, Path: "/offers/{id}",
		Handle: func(ctx context.Context, c *Call, in *OfferInput) (OfferDetail, error) {
			agg, snap, err := s.current(ctx, c)
			if err != nil {
				return OfferDetail{}, err
			}
			o, ok := snap.Offer(in.ID)
			if !ok {
				return OfferDetail{}, fault.NotFound("offer", in.ID)
			}
			d := OfferDetail{Offer: o, PricePerGPUHour: round4(o.PricePerGPUHour()), TFLOPS: o.TFLOPS(),
				PricePerformance: round4(o.PricePerformance()), Mode: c.Tenant.Mode, AsOf: snap.Taken}
			if m, ok := providers.LookupGPU(o.GPU); ok {
				d.Model = &m
			}
			d.ProviderName = providers.Name(o.Provider)
			d.ProviderHealth, _ = agg.ProviderHealth(o.Provider)
			if s.Prices != nil {
				pts, err := s.Prices.PriceHistory(ctx, market.PriceQuery{Mode: modeKey(c.Tenant.Mode), OfferID: o.ID,
					Since: s.Now().Add(-24 * time.Hour), Limit: 200})
				if err != nil {
					return d, err
				}
				d.Recent = pts
			}
			return d, nil
		},
	}
}

func compareOffers(s OfferServices) Def[CompareOffersInput, market.Comparison] {
	return Def[CompareOffersInput, market.Comparison]{
		Name: ToolCompareOffers, Title: "Compare offers", Group: ToolsetOffers, MinRole: actor.RoleUser, ReadOnly: true, OpenWorld: true,
		Description: "Compare 2 to 10 offers side by side: rank them with TOPSIS among themselves and name the best " +
			"on each criterion (price, GPU memory, performance, price/performance, availability, provider reliability).",
		Method: http.MethodGet, Path: "/offers/compare",
		Handle: func(ctx context.Context, c *Call, in *CompareOffersInput) (market.Comparison, error) {
			w := s.weights(c)
			if in.Weights != "" {
				w, _ = market.ParseWeights(in.Weights)
			}
			_, snap, err := s.current(ctx, c)
			if err != nil {
				return market.Comparison{}, err
			}
			var offers []providers.Offer
			for _, id := range market.ParseList(in.IDs) {
				o, ok := snap.Offer(id)
				if !ok {
					return market.Comparison{}, fault.NotFound("offer", id)
				}
				offers = append(offers, o)
			}
			out, err := market.Compare(offers, w, snap.Reliability)
			if err != nil {
				return out, fault.Malformed("weights", "%v", err)
			}
			return out, nil
		},
	}
}

func providerHealth(s OfferServices) Def[ProviderHealthInput, ProviderList] {
	return Def[ProviderHealthInput, ProviderList]{
		Name: ToolProviderHealth, Title: "Provider health", Group: ToolsetOffers, MinRole: actor.RoleUser, ReadOnly: true, OpenWorld: true,
		Description: "List every provider the platform supports with its health in the tenant's mode: whether it is " +
			"active, its status, circuit breaker state, latency, error rate, offers and last success or error.",
		Method: http.MethodGet, Path: "/providers",
		Handle: func(ctx context.Context, c *Call, in *ProviderHealthInput) (ProviderList, error) {
			agg, _, err := s.current(ctx, c)
			if err != nil {
				return ProviderList{}, err
			}
			out := ProviderList{Mode: c.Tenant.Mode, Providers: []ProviderStatus{}}
			for _, p := range providers.Supported {
				if in.Provider != "" && p.ID != in.Provider {
					continue
				}
				st := ProviderStatus{ID: p.ID, Name: p.Name, Mode: c.Tenant.Mode}
				if h, ok := agg.ProviderHealth(p.ID); ok {
					st.Active, st.Health = true, h
				} else {
					st.Health = market.Health{Provider: p.ID, Status: "inactive"}
				}
				out.Providers = append(out.Providers, st)
			}
			if in.Provider != "" && len(out.Providers) == 0 {
				return out, fault.Malformed("provider", "unknown provider %q; valid values: %s", in.Provider, strings.Join(supportedIDs(), ", "))
			}
			return out, nil
		},
	}
}

func priceHistory(s OfferServices) Def[PriceHistoryInput, PriceSeries] {
	return Def[PriceHistoryInput, PriceSeries]{
		Name: ToolPriceHistory, Title: "Price history", Group: ToolsetOffers, MinRole: actor.RoleUser, ReadOnly: true, Public: true,
		Description: "Prices of one offer, or of every offer of a GPU model, over the last hours, from stored snapshots " +
			"of the tenant's mode; with the lowest, highest and latest price. Open to visitors who have not signed in.",
		Method: http.MethodGet, Path: "/prices",
		Handle: func(ctx context.Context, c *Call, in *PriceHistoryInput) (PriceSeries, error) {
			hours, limit := in.Hours, in.Limit
			if hours == 0 {
				hours = 24
			}
			if limit == 0 {
				limit = 1000
			}
			pts, err := s.Prices.PriceHistory(ctx, market.PriceQuery{Mode: modeKey(c.Tenant.Mode), OfferID: in.OfferID,
				GPU: in.GPU, Since: s.Now().Add(-time.Duration(hours) * time.Hour), Limit: limit})
			if err != nil {
				return PriceSeries{}, err
			}
			out := PriceSeries{Mode: c.Tenant.Mode, Points: pts}
			if out.Points == nil {
				out.Points = []market.PricePoint{}
			}
			for i, p := range pts {
				if i == 0 || p.PriceHour < out.Min {
					out.Min = p.PriceHour
				}
				out.Max = math.Max(out.Max, p.PriceHour)
			}
			if len(pts) > 0 {
				sort.SliceStable(pts, func(i, j int) bool { return pts[i].At.Before(pts[j].At) })
				out.Latest = pts[len(pts)-1].PriceHour
			}
			return out, nil
		},
	}
}

// weights returns the tenant's default TOPSIS weights in its mode.
func (s OfferServices) weights(c *Call) market.Weights {
	if s.Weights != nil {
		return s.Weights(c.Tenant.ID, c.Tenant.Mode)
	}
	return market.DefaultWeights
}

// current returns the tenant's aggregator and its snapshot of offers
// (the first call of a fresh aggregator waits for its first refresh).
func (s OfferServices) current(ctx context.Context, c *Call) (*market.Aggregator, *market.Snapshot, error) {
	agg, err := s.Markets.For(ctx, c.Tenant.ID, c.Tenant.Mode == mode.Live)
	if err != nil {
		return nil, nil, err
	}
	return agg, agg.Snapshot(ctx), nil
}

// modeKey is how price points record a mode.
func modeKey(m mode.Mode) string { return strings.ToLower(string(m)) }

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
