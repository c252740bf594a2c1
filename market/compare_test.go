package market

import (
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
)

func TestCompareRanksTheOffersAndNamesTheBestOnEachCriterion(t *testing.T) {
	now := time.Unix(0, 0)
	mk := func(provider, gpu string, count int, price float64, a providers.Availability) providers.Offer {
		o := providers.Offer{Provider: provider, SKU: "x", GPU: gpu, GPUCount: count, Region: "r", PriceHour: price, Availability: a}
		o.Normalize(now)
		return o
	}
	cheap := mk("lambda", "A100-SXM-80GB", 1, 1.29, providers.None)
	big := mk("runpod", "H100-SXM-80GB", 8, 23.92, providers.Available)
	fast := mk("vastai", "H100-SXM-80GB", 1, 2.10, providers.Limited)
	rel := func(p string) float64 {
		if p == "runpod" {
			return 1
		}
		return 0.9
	}
	c, err := Compare([]providers.Offer{big, cheap, fast}, DefaultWeights, rel)
	if err != nil {
		t.Fatal(err)
	}
	wantBest := map[Criterion]string{
		CritPrice: cheap.ID, CritGPUMemory: big.ID, CritPerformance: big.ID,
		CritPricePerformance: fast.ID, CritAvailability: big.ID, CritReliability: big.ID,
	}
	for crit, id := range wantBest {
		if c.Best[crit] != id {
			t.Errorf("best on %s is %s, want %s", crit, c.Best[crit], id)
		}
	}
	if len(c.Offers) != 3 {
		t.Fatalf("%d offers compared, want 3", len(c.Offers))
	}
	for i, o := range c.Offers {
		if i > 0 && o.Score > c.Offers[i-1].Score {
			t.Errorf("offer %d scores %v above the one before it (%v)", i, o.Score, c.Offers[i-1].Score)
		}
		if o.Score != round4(o.Score) || o.Values[CritPricePerformance] != round4(o.Values[CritPricePerformance]) {
			t.Errorf("offer %s: figures not rounded to four decimals: %v", o.ID, o)
		}
		if o.Values[CritReliability] != rel(o.Provider) {
			t.Errorf("offer %s: reliability %v, want %v", o.ID, o.Values[CritReliability], rel(o.Provider))
		}
	}
	if _, err := Compare([]providers.Offer{cheap, fast}, Weights{"speed": 1}, nil); err == nil {
		t.Error("an unknown criterion must be refused")
	}
}
