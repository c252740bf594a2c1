package tools_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/tools"
)

// TestAVisitorSeesTheCheapestOfferOfEachPopularGPU: market_overview is
// open to visitors; for each popular GPU it names the cheapest one-GPU
// offer that can start now — none of that GPU's offers listed is cheaper
// — and it names the providers of the catalogue.
func TestAVisitorSeesTheCheapestOfferOfEachPopularGPU(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	visitor := actor.Anonymous("acme", "192.0.2.7")
	res := p.Registry.Call(ctx, tools.Request{Actor: visitor, Face: audit.FaceREST, Tool: tools.ToolMarketOverview})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	ov := res.Output.(tools.MarketOverview)
	if len(ov.GPUs) != len(tools.PopularGPUs) || len(ov.Providers) < 10 || ov.Taken.IsZero() {
		t.Fatalf("overview: %d GPUs, %d providers, taken %s", len(ov.GPUs), len(ov.Providers), ov.Taken)
	}
	priced := 0
	for _, g := range ov.GPUs {
		if g.Cheapest == nil {
			continue
		}
		priced++
		if g.Cheapest.GPU != g.GPU || g.Cheapest.GPUCount != 1 || g.Cheapest.Availability == providers.None || g.ProviderName == "" {
			t.Fatalf("%s: %+v", g.GPU, g)
		}
		in, _ := json.Marshal(map[string]any{"gpu": g.GPU, "gpu_count": 1, "sort": "price", "limit": 200})
		list := p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceDirect, Tool: tools.ToolListOffers, Input: in})
		if list.Err != nil {
			t.Fatal(list.Err)
		}
		n := 0
		for _, o := range list.Output.(market.Page).Offers {
			if o.GPUCount != 1 || o.Availability == providers.None {
				continue
			}
			n++
			if o.PriceHour < g.Cheapest.PriceHour {
				t.Fatalf("%s: %s at %v is cheaper than %s at %v", g.GPU, o.ID, o.PriceHour, g.Cheapest.ID, g.Cheapest.PriceHour)
			}
		}
		if n != g.Offers {
			t.Fatalf("%s: %d offers counted, %d listed", g.GPU, g.Offers, n)
		}
	}
	if priced < 5 {
		t.Fatalf("only %d popular GPUs priced", priced)
	}
}
