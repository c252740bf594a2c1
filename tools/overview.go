package tools

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/providers"
)

// ToolMarketOverview is the name of market_overview.
const ToolMarketOverview = "market_overview"

// PopularGPUs are the GPU models the market overview prices, in the
// order it shows them.
var PopularGPUs = []string{"H100-SXM-80GB", "H200-SXM-141GB", "B200-SXM-180GB", "A100-SXM-80GB", "MI300X-OAM-192GB",
	"L40S-PCIE-48GB", "L4-PCIE-24GB", "RTX-4090-24GB"}

// MarketOverview is the output of market_overview: the cheapest offer
// that can start now of each popular GPU, and the providers offering.
type MarketOverview struct {
	// Taken is when the catalogue it was read from was taken.
	Taken     time.Time         `json:"taken"`
	GPUs      []GPUCheapest     `json:"gpus"`
	Providers []ProviderOffered `json:"providers"`
}

// GPUCheapest is one GPU model's cheapest available single-GPU offer.
type GPUCheapest struct {
	GPU string `json:"gpu"`
	// Offers counts the offers of the model that can start now.
	Offers int `json:"offers"`
	// Cheapest is nil when none can.
	Cheapest *providers.Offer `json:"cheapest,omitempty"`
	// ProviderName is the cheapest offer's provider, as people call it.
	ProviderName string `json:"provider_name,omitempty"`
}

// ProviderOffered is a provider of the catalogue and how many offers it
// has in it.
type ProviderOffered struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Offers int    `json:"offers"`
}

func marketOverview(s OfferServices) Def[struct{}, MarketOverview] {
	return Def[struct{}, MarketOverview]{
		Name: ToolMarketOverview, Title: "Market overview", Group: ToolsetOffers, MinRole: actor.RoleUser, ReadOnly: true, Public: true,
		Description: "The cheapest single-GPU offer that can start now of each popular GPU model (" + strings.Join(PopularGPUs, ", ") + "), and the providers " +
			"in the catalogue with how many offers each has: read from the cached catalogue of the caller's mode, so it never waits on " +
			"a provider. Open to visitors who have not signed in.",
		Method: http.MethodGet, Path: "/market/overview",
		Handle: func(ctx context.Context, c *Call, _ *struct{}) (MarketOverview, error) {
			_, snap, err := s.current(ctx, c)
			if err != nil {
				return MarketOverview{}, err
			}
			// The front page asks for this on every visit: it is summed
			// up once per catalogue snapshot, and the visits between two
			// refreshes share it (read only, as every face treats an
			// output).
			return snap.Derived(overviewKey{}, func(sn *market.Snapshot) any { return overviewOf(sn.Offers, sn.Taken) }).(MarketOverview), nil
		},
	}
}

// overviewKey is the key of a snapshot's overview among what is derived
// from it.
type overviewKey struct{}

// overviewOf sums up offers: per popular GPU the cheapest one-GPU offer
// available or limited, and per supported provider its offers.
func overviewOf(offers []providers.Offer, taken time.Time) MarketOverview {
	out := MarketOverview{Taken: taken, GPUs: make([]GPUCheapest, len(PopularGPUs)), Providers: []ProviderOffered{}}
	at := map[string]int{}
	for i, g := range PopularGPUs {
		out.GPUs[i].GPU, at[g] = g, i
	}
	count := map[string]int{}
	for i := range offers {
		o := &offers[i]
		count[o.Provider]++
		j, ok := at[o.GPU]
		if !ok || o.GPUCount != 1 || o.Availability == providers.None {
			continue
		}
		g := &out.GPUs[j]
		g.Offers++
		if g.Cheapest == nil || o.PriceHour < g.Cheapest.PriceHour || (o.PriceHour == g.Cheapest.PriceHour && o.ID < g.Cheapest.ID) {
			g.Cheapest = o
		}
	}
	for i := range out.GPUs {
		if c := out.GPUs[i].Cheapest; c != nil {
			cp := *c
			out.GPUs[i].Cheapest, out.GPUs[i].ProviderName = &cp, providers.Name(c.Provider)
		}
	}
	for _, p := range providers.Supported {
		if n := count[p.ID]; n > 0 {
			out.Providers = append(out.Providers, ProviderOffered{ID: p.ID, Name: p.Name, Offers: n})
		}
	}
	return out
}
