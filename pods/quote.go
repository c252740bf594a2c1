package pods

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/providers"
)

// MaxDiskGiB is the largest disk a pod may ask for.
const MaxDiskGiB = 16384

// HoursPerMonth prices a month as 30 days, as the estimate says.
const HoursPerMonth = 30 * 24

// Prices are the platform's own terms on top of a provider's price.
type Prices struct {
	// MarkupPercent is the owner's plan's markup.
	MarkupPercent float64
	// StorageGiBMonth is what a GiB of disk beyond the machine's own costs
	// per month (billing.storage_gib_month_usd).
	StorageGiBMonth money.Amount
}

// Estimate is what a pod would cost on one offer: the breakdown and the
// totals per hour, per day and per 30-day month.
type Estimate struct {
	OfferID  string  `json:"offer_id"`
	Provider string  `json:"provider"`
	Region   string  `json:"region"`
	Pricing  Pricing `json:"pricing"`
	// ProviderHour is the provider's price of the machine per hour.
	ProviderHour  money.Amount `json:"provider_hour"`
	MarkupPercent float64      `json:"markup_percent"`
	MarkupHour    money.Amount `json:"markup_hour"`
	// ExtraDiskGiB is the disk asked for beyond the machine's own, billed
	// as StorageHour.
	ExtraDiskGiB int          `json:"extra_disk_gib"`
	StorageHour  money.Amount `json:"storage_hour"`
	Hour         money.Amount `json:"hour"`
	Day          money.Amount `json:"day"`
	Month        money.Amount `json:"month"`
}

// Rate is what a pod costs per hour, in its parts: the provider's price,
// the platform's markup on it in basis points, and extra storage. Usage
// is billed from these parts, so each can be shown.
type Rate struct {
	ProviderHour money.Amount `json:"provider_hour"`
	MarkupBps    int64        `json:"markup_bps"`
	StorageHour  money.Amount `json:"storage_hour"`
}

// FlatRate is a rate that is all provider price.
func FlatRate(hour money.Amount) Rate { return Rate{ProviderHour: hour} }

// Hour is the rate's total per hour.
func (r Rate) Hour() money.Amount {
	markup, _ := r.ProviderHour.MulRat(r.MarkupBps, 10_000)
	return r.ProviderHour + markup + r.StorageHour
}

// Rate is the estimate's rate.
func (e Estimate) Rate() Rate {
	return Rate{ProviderHour: e.ProviderHour, MarkupBps: markupBps(e.MarkupPercent), StorageHour: e.StorageHour}
}

// markupBps is a markup percentage with up to two decimals in basis points.
func markupBps(percent float64) int64 { return int64(percent*100 + 0.5) }

// PriceMoved is how far, in percent, an hourly price now differs from the
// one p was quoted at (0 when p has no quoted price).
func (p Pod) PriceMoved(now money.Amount) float64 {
	if p.PriceHour <= 0 {
		return 0
	}
	return float64(now-p.PriceHour) / float64(p.PriceHour) * 100
}

// Fit lists, by field, every limit of offer o that cfg breaks: the offer is
// one machine shape a provider sells, so the configuration must match its
// GPUs and fit within its CPUs, memory and region.
func Fit(cfg Config, o providers.Offer) []fault.Problem {
	var ps []fault.Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if cfg.Provider != Auto && cfg.Provider != o.Provider {
		bad("provider", "offer %s is sold by %s, not %s", o.ID, o.Provider, cfg.Provider)
	}
	if cfg.GPU != o.GPU {
		bad("gpu", "offer %s has %s GPUs", o.ID, o.GPU)
	}
	if cfg.GPUCount != o.GPUCount {
		bad("gpu_count", "offer %s is sold with %d GPUs", o.ID, o.GPUCount)
	}
	if cfg.VCPU > o.VCPU {
		bad("vcpu", "at most %d on offer %s", o.VCPU, o.ID)
	}
	if float64(cfg.RAMGiB) > o.RAMGB {
		bad("ram_gib", "at most %.0f GiB on offer %s", o.RAMGB, o.ID)
	}
	if cfg.DiskGiB > MaxDiskGiB {
		bad("disk_gib", "at most %d GiB", MaxDiskGiB)
	}
	if cfg.Region != "" && cfg.Region != o.Region {
		bad("region", "offer %s is in %s, not %s", o.ID, o.Region, cfg.Region)
	}
	if cfg.Pricing == Spot && o.SpotPriceHour <= 0 {
		bad("pricing", "offer %s sells no spot capacity", o.ID)
	}
	if o.Availability == providers.None {
		bad("offer_id", "offer %s has no capacity now", o.ID)
	}
	return ps
}

// Price estimates cfg on offer o with the platform's prices.
func Price(cfg Config, o providers.Offer, p Prices) (Estimate, error) {
	price := o.PriceHour
	if cfg.Pricing == Spot {
		price = o.SpotPriceHour
	}
	base, err := money.FromFloat(price)
	if err != nil {
		return Estimate{}, fmt.Errorf("offer %s price: %w", o.ID, err)
	}
	e := Estimate{OfferID: o.ID, Provider: o.Provider, Region: o.Region, Pricing: cfg.Pricing, ProviderHour: base,
		MarkupPercent: p.MarkupPercent, ExtraDiskGiB: max(0, cfg.DiskGiB-o.DiskGB)}
	if e.MarkupHour, err = base.MulRat(markupBps(p.MarkupPercent), 10_000); err != nil {
		return Estimate{}, err
	}
	if e.StorageHour, err = p.StorageGiBMonth.MulRat(int64(e.ExtraDiskGiB), HoursPerMonth); err != nil {
		return Estimate{}, err
	}
	e.Hour = e.ProviderHour + e.MarkupHour + e.StorageHour
	if e.Day, err = e.Hour.MulRat(24, 1); err != nil {
		return Estimate{}, err
	}
	if e.Month, err = e.Hour.MulRat(HoursPerMonth, 1); err != nil {
		return Estimate{}, err
	}
	return e, nil
}

// FitShapes checks cfg against the machines provider sells, as its
// adapter declares them, naming each broken limit by field. CPUs and
// memory are what the pod needs at least, so only a machine's most bounds
// them.
func FitShapes(cfg Config, provider string, s providers.Shapes) []fault.Problem {
	ps := providers.Check(s, cfg.GPUCount, max(cfg.VCPU, s.VCPU.Min), max(cfg.RAMGiB, s.RAMGiB.Min), cfg.DiskGiB, cfg.Region)
	for i := range ps {
		ps[i].Message = provider + " sells: " + ps[i].Message
	}
	return ps
}

// Ranker orders offers best first (market.Rank with the tenant's weights).
type Ranker func(offers []providers.Offer) ([]market.Ranked, error)

// Choose picks the offer cfg is deployed on: the one named, which must fit,
// or the best-ranked of those that fit. When none fits it says why,
// naming what the catalogue does sell for the GPU asked for.
func Choose(cfg Config, offers []providers.Offer, rank Ranker) (providers.Offer, error) {
	if cfg.OfferID != "" {
		i := slices.IndexFunc(offers, func(o providers.Offer) bool { return o.ID == cfg.OfferID })
		if i < 0 {
			return providers.Offer{}, fault.Invalid("offer_id", "no offer %q in the catalogue now; list_offers shows the current ones", cfg.OfferID)
		}
		if ps := Fit(cfg, offers[i]); len(ps) > 0 {
			return providers.Offer{}, fault.InvalidAll("the configuration does not fit the offer", ps)
		}
		return offers[i], nil
	}
	fits, err := Fitting(cfg, offers, rank)
	if err != nil {
		return providers.Offer{}, err
	}
	if len(fits) == 0 {
		return providers.Offer{}, noFit(cfg, offers)
	}
	return fits[0], nil
}

// Fitting lists the offers cfg fits, best first; cfg's own offer, if it
// names one, is among them whether it still fits or not (provisioning
// tries it first and fails over from it).
func Fitting(cfg Config, offers []providers.Offer, rank Ranker) ([]providers.Offer, error) {
	own := cfg.OfferID
	cfg.OfferID = ""
	var fits []providers.Offer
	for _, o := range offers {
		if o.ID == own || len(Fit(cfg, o)) == 0 {
			fits = append(fits, o)
		}
	}
	if len(fits) == 0 {
		return nil, nil
	}
	ranked, err := rank(fits)
	if err != nil {
		return nil, fmt.Errorf("rank offers: %w", err)
	}
	out := make([]providers.Offer, len(ranked))
	for i, r := range ranked {
		out[i] = r.Offer
	}
	return out, nil
}

// noFit explains an empty choice with what is sold for the GPU.
func noFit(cfg Config, offers []providers.Offer) error {
	counts, regions := map[int]bool{}, map[string]bool{}
	maxCPU, maxRAM := 0, 0.0
	for _, o := range offers {
		if o.GPU != cfg.GPU || (cfg.Provider != Auto && o.Provider != cfg.Provider) || o.Availability == providers.None {
			continue
		}
		counts[o.GPUCount], regions[o.Region] = true, true
		if o.GPUCount == cfg.GPUCount {
			maxCPU, maxRAM = max(maxCPU, o.VCPU), max(maxRAM, o.RAMGB)
		}
	}
	if len(counts) == 0 {
		return fault.Invalid("gpu", "no provider%s sells %s with capacity now", providerClause(cfg.Provider), cfg.GPU)
	}
	var ps []fault.Problem
	if !counts[cfg.GPUCount] {
		ps = append(ps, fault.Problem{Field: "gpu_count", Message: fmt.Sprintf("%s is sold in counts of %s", cfg.GPU, joinInts(counts))})
	} else {
		if cfg.VCPU > maxCPU {
			ps = append(ps, fault.Problem{Field: "vcpu", Message: fmt.Sprintf("at most %d with %d × %s", maxCPU, cfg.GPUCount, cfg.GPU)})
		}
		if float64(cfg.RAMGiB) > maxRAM {
			ps = append(ps, fault.Problem{Field: "ram_gib", Message: fmt.Sprintf("at most %.0f GiB with %d × %s", maxRAM, cfg.GPUCount, cfg.GPU)})
		}
	}
	if cfg.Region != "" && !regions[cfg.Region] {
		ps = append(ps, fault.Problem{Field: "region", Message: fmt.Sprintf("%s is sold in %s", cfg.GPU, joinKeys(regions))})
	}
	if len(ps) == 0 {
		ps = append(ps, fault.Problem{Field: "pricing", Message: "no offer fits this configuration with this pricing now"})
	}
	return fault.InvalidAll("no offer fits the configuration", ps)
}

func providerClause(p string) string {
	if p == Auto || p == "" {
		return ""
	}
	return " (" + p + ")"
}

func joinInts(set map[int]bool) string {
	var out []string
	for _, n := range slices.Sorted(maps.Keys(set)) {
		out = append(out, fmt.Sprint(n))
	}
	return strings.Join(out, ", ")
}

func joinKeys(set map[string]bool) string { return strings.Join(slices.Sorted(maps.Keys(set)), ", ") }
