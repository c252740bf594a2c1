package tools

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/tenant"
)

// These tests build one offers tool with its constructor and call its
// handler directly, with fakes for what it reads.

// fakePrices answers points and keeps the last query.
type fakePrices struct {
	got    market.PriceQuery
	points []market.PricePoint
}

func (f *fakePrices) PriceHistory(_ context.Context, q market.PriceQuery) ([]market.PricePoint, error) {
	f.got = q
	return f.points, nil
}

// oneMarket serves the same aggregator to every tenant.
type oneMarket struct{ agg *market.Aggregator }

func (m oneMarket) For(context.Context, string, bool) (*market.Aggregator, error) { return m.agg, nil }

type fixedOffers []providers.Offer

func (fixedOffers) Provider() string { return "lambda" }
func (f fixedOffers) ListOffers(context.Context) ([]providers.Offer, error) {
	return append([]providers.Offer(nil), f...), nil
}

var toolNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestPriceHistoryLooksBackFromTheInjectedClock(t *testing.T) {
	prices := &fakePrices{points: []market.PricePoint{
		{OfferID: "a", PriceHour: 3, At: toolNow.Add(-time.Hour)},
		{OfferID: "a", PriceHour: 2, At: toolNow.Add(-2 * time.Hour)},
	}}
	tool := priceHistory(OfferServices{Prices: prices, Now: clockAt(toolNow)})
	c := &Call{Tenant: tenant.Tenant{ID: "acme", Mode: mode.Live}}
	out, err := tool.Handle(context.Background(), c, &PriceHistoryInput{GPU: "H100-SXM-80GB", Hours: 6})
	if err != nil {
		t.Fatal(err)
	}
	if want := toolNow.Add(-6 * time.Hour); !prices.got.Since.Equal(want) || prices.got.Mode != "live" || prices.got.GPU != "H100-SXM-80GB" {
		t.Fatalf("asked %+v, want six hours back from %v in live", prices.got, toolNow)
	}
	if out.Min != 2 || out.Max != 3 || out.Latest != 3 || out.Mode != mode.Live {
		t.Fatalf("series %+v: want min 2, max 3, latest 3 in LIVE", out)
	}
}

func TestGetOfferReadsRecentPricesFromTheInjectedClock(t *testing.T) {
	offer := providers.Offer{Provider: "lambda", SKU: "gpu_1x_h100_sxm5", GPU: "H100-SXM-80GB", GPUCount: 1, Region: "us-east-1", PriceHour: 2.99}
	agg := market.NewAggregator([]providers.Adapter{fixedOffers{offer}}, market.Options{Mode: "sandbox", Now: clockAt(toolNow)})
	t.Cleanup(agg.Close)
	prices := &fakePrices{}
	tool := getOffer(OfferServices{Markets: oneMarket{agg}, Prices: prices, Now: clockAt(toolNow)})
	c := &Call{Tenant: tenant.Tenant{ID: "acme", Mode: mode.Sandbox}}
	id := providers.OfferID(offer.Provider, offer.SKU, offer.Region)
	d, err := tool.Handle(context.Background(), c, &OfferInput{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != id || d.ProviderName != "Lambda" || d.Model == nil || d.TFLOPS != 989 {
		t.Fatalf("detail %+v", d)
	}
	if want := toolNow.Add(-24 * time.Hour); !prices.got.Since.Equal(want) || prices.got.OfferID != id || prices.got.Mode != "sandbox" {
		t.Fatalf("asked %+v, want a day back from %v for %s", prices.got, toolNow, id)
	}
}
