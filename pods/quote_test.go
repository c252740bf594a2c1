package pods

import (
	"strings"
	"testing"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/providers"
)

func offer(id, provider string, count, vcpu int, ram float64, price, spot float64) providers.Offer {
	return providers.Offer{ID: id, Provider: provider, SKU: id, GPU: "H100-SXM-80GB", GPUCount: count, GPUMemoryGB: 80, VCPU: vcpu,
		RAMGB: ram, DiskGB: 500, Region: "us-east", PriceHour: price, SpotPriceHour: spot, Availability: providers.Available, AvailableCount: -1}
}

var catalogue = []providers.Offer{
	offer("a-1x", "lambda", 1, 26, 200, 2.49, 0),
	offer("b-1x", "runpod", 1, 16, 125, 2.99, 1.75),
	offer("c-8x", "lambda", 8, 208, 1800, 23.92, 0),
}

func byPrice(offers []providers.Offer) ([]market.Ranked, error) {
	return market.Rank(offers, market.Weights{"price": 1}, nil)
}

func h100(count, vcpu, ram int) Config {
	return Config{Name: "t", GPU: "H100-SXM-80GB", GPUCount: count, Provider: Auto, VCPU: vcpu, RAMGiB: ram, DiskGiB: 500,
		Image: "pytorch-2.5-cuda12.4", Pricing: OnDemand}
}

func TestChooseTakesTheBestOfferThatFits(t *testing.T) {
	cases := []struct {
		name  string
		cfg   func() Config
		want  string
		field string
		says  string
	}{
		{"auto picks the best-ranked fitting offer", func() Config { return h100(1, 8, 64) }, "a-1x", "", ""},
		{"spot pricing takes an offer that sells spot", func() Config { c := h100(1, 8, 64); c.Pricing = Spot; return c }, "b-1x", "", ""},
		{"a named provider is kept", func() Config { c := h100(1, 8, 64); c.Provider = "runpod"; return c }, "b-1x", "", ""},
		{"a named offer is taken as is", func() Config { c := h100(8, 100, 1000); c.OfferID = "c-8x"; return c }, "c-8x", "", ""},
		{"a GPU count nobody sells lists the counts sold", func() Config { return h100(2, 8, 64) }, "", "gpu_count", "counts of 1, 8"},
		{"too many CPUs for the count says the most", func() Config { return h100(1, 64, 64) }, "", "vcpu", "at most 26"},
		{"a named offer too small names each broken limit", func() Config { c := h100(1, 64, 512); c.OfferID = "b-1x"; return c }, "", "vcpu", "at most 16"},
		{"an unknown offer", func() Config { c := h100(1, 8, 64); c.OfferID = "zzz"; return c }, "", "offer_id", "no offer"},
		{"a GPU nobody sells", func() Config { c := h100(1, 8, 64); c.GPU = "B200-SXM-180GB"; return c }, "", "gpu", "no provider sells"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := Choose(c.cfg(), catalogue, byPrice)
			if c.want != "" {
				if err != nil || o.ID != c.want {
					t.Fatalf("Choose = %s, %v; want %s", o.ID, err, c.want)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.KindInvalid || fe.Problems[0].Field != c.field || !strings.Contains(fe.Error(), c.says) {
				t.Fatalf("Choose error = %v; want %s saying %q", err, c.field, c.says)
			}
		})
	}
}

func TestPriceBreaksTheEstimateDown(t *testing.T) {
	cfg := h100(1, 8, 64)
	cfg.DiskGiB = 1500 // 1000 GiB beyond the machine's 500
	e, err := Price(cfg, catalogue[0], Prices{MarkupPercent: 15, StorageGiBMonth: money.MustParse("0.10")})
	if err != nil {
		t.Fatal(err)
	}
	// 2.49 + 15 % = 0.3735; 1000 GiB × $0.10 a month over 720 h = 0.138889
	want := map[string]money.Amount{"provider": money.MustParse("2.49"), "markup": money.MustParse("0.3735"),
		"storage": money.MustParse("0.138889"), "hour": money.MustParse("3.002389"),
		"day": money.MustParse("72.057336"), "month": money.MustParse("2161.72008")}
	got := map[string]money.Amount{"provider": e.ProviderHour, "markup": e.MarkupHour, "storage": e.StorageHour,
		"hour": e.Hour, "day": e.Day, "month": e.Month}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %s, want %s", k, got[k].Decimal(), w.Decimal())
		}
	}
	if e.ExtraDiskGiB != 1000 || e.OfferID != "a-1x" {
		t.Errorf("estimate %+v", e)
	}
	cfg.Pricing = Spot
	if e, err := Price(cfg, catalogue[1], Prices{}); err != nil || e.ProviderHour != money.MustParse("1.75") || e.Hour != money.MustParse("1.75") {
		t.Errorf("spot estimate %+v %v", e, err)
	}
}

// TestARateChargesEachPartOnce: 90 minutes at $2.00 an hour under a 20 %
// markup cost exactly $3.60, with storage on top, each part rounded once.
func TestARateChargesEachPartOnce(t *testing.T) {
	r := Rate{ProviderHour: money.MustParse("2.00"), MarkupBps: 2000}
	c, err := r.For(90 * 60)
	if err != nil || c.Provider != money.MustParse("3.00") || c.Markup != money.MustParse("0.60") || c.Total != money.MustParse("3.60") {
		t.Fatalf("charge %+v, %v", c, err)
	}
	r.StorageHour = money.MustParse("0.01")
	if c, _ = r.For(3600); c.Total != money.MustParse("2.41") {
		t.Fatalf("an hour with storage: %+v", c)
	}
	if c, _ = r.For(1); c.Provider != money.MustParse("0.000556") || c.Markup != money.MustParse("0.000111") {
		t.Fatalf("a second: %+v", c)
	}
	if r.Hour() != money.MustParse("2.41") {
		t.Fatalf("hour %s", r.Hour())
	}
}
