package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
)

// TestTOPSISReproducesThePublishedExample reproduces the worked example of
// GeeksforGeeks, "TOPSIS method for Multiple-Criteria Decision Making
// (MCDM)" (https://www.geeksforgeeks.org/dsa/topsis-method-for-multiple-criteria-decision-making-mcdm/):
// five phone models on price (a cost), storage, camera and looks, equal
// weights 0.25. The article's performance scores, to its six decimals, are
// 0.534277, 0.308368, 0.691632, 0.534737, 0.401046 (ranks 3, 5, 1, 2, 4).
func TestTOPSISReproducesThePublishedExample(t *testing.T) {
	cols := [][]float64{
		{250, 200, 300, 275, 225}, // price
		{16, 16, 32, 32, 16},      // storage
		{12, 8, 16, 8, 16},        // camera
		{5, 3, 4, 4, 2},           // looks
	}
	scores := make([]float64, 5)
	if err := TOPSIS(cols, []float64{0.25, 0.25, 0.25, 0.25}, []bool{false, true, true, true}, scores); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.534277, 0.308368, 0.691632, 0.534737, 0.401046}
	for i := range want {
		if got := math.Round(scores[i]*1e6) / 1e6; got != want[i] {
			t.Errorf("model %d: score %.6f, want %.6f", i+1, scores[i], want[i])
		}
	}
	// Weights are normalized, so scaling them changes nothing.
	again := make([]float64, 5)
	if err := TOPSIS(cols, []float64{1, 1, 1, 1}, []bool{false, true, true, true}, again); err != nil {
		t.Fatal(err)
	}
	for i := range scores {
		if math.Abs(again[i]-scores[i]) > 1e-12 {
			t.Errorf("scaled weights changed model %d: %v vs %v", i+1, again[i], scores[i])
		}
	}
}

func TestTOPSISTreatsCostAndBenefitOppositely(t *testing.T) {
	cols := [][]float64{{1, 2, 3}}
	scores := make([]float64, 3)
	if err := TOPSIS(cols, []float64{1}, []bool{false}, scores); err != nil {
		t.Fatal(err)
	}
	if !(scores[0] == 1 && scores[2] == 0) {
		t.Errorf("as a cost the cheapest must score 1 and the dearest 0: %v", scores)
	}
	if err := TOPSIS(cols, []float64{1}, []bool{true}, scores); err != nil {
		t.Fatal(err)
	}
	if !(scores[0] == 0 && scores[2] == 1) {
		t.Errorf("as a benefit the largest must score 1: %v", scores)
	}
}

func TestTOPSISEdgeCases(t *testing.T) {
	t.Run("identical alternatives score one half", func(t *testing.T) {
		s := make([]float64, 3)
		if err := TOPSIS([][]float64{{2, 2, 2}, {0, 0, 0}}, []float64{1, 1}, []bool{true, false}, s); err != nil {
			t.Fatal(err)
		}
		for _, v := range s {
			if v != 0.5 {
				t.Fatalf("scores %v", s)
			}
		}
	})
	t.Run("bad shapes and weights are refused", func(t *testing.T) {
		s := make([]float64, 2)
		for name, err := range map[string]error{
			"ragged":   TOPSIS([][]float64{{1, 2}, {1}}, []float64{1, 1}, []bool{true, true}, s),
			"zero":     TOPSIS([][]float64{{1, 2}}, []float64{0}, []bool{true}, s),
			"negative": TOPSIS([][]float64{{1, 2}}, []float64{-1}, []bool{true}, s),
			"count":    TOPSIS([][]float64{{1, 2}}, []float64{1, 1}, []bool{true}, s),
		} {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
	t.Run("no alternatives is no work", func(t *testing.T) {
		if err := TOPSIS([][]float64{{}}, []float64{1}, []bool{true}, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRankOrdersOffersAndBreaksTiesDeterministically(t *testing.T) {
	now := time.Unix(0, 0)
	mk := func(provider, sku string, price float64) providers.Offer {
		o := providers.Offer{Provider: provider, SKU: sku, GPU: "H100-SXM-80GB", GPUCount: 1, Region: "r", PriceHour: price}
		o.Normalize(now)
		return o
	}
	offers := []providers.Offer{mk("b", "x", 3), mk("a", "x", 2), mk("c", "x", 2), mk("d", "x", 2.5)}
	ranked, err := Rank(offers, Weights{CritPrice: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range ranked {
		got += fmt.Sprintf("%s:%.2f ", r.Provider, r.Score)
	}
	// a and c tie on score and price; ids (a-…, c-…) decide.
	if want := "a:1.00 c:1.00 d:0.50 b:0.00 "; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	rel := func(p string) float64 {
		if p == "c" {
			return 1
		}
		return 0.5
	}
	ranked, err = Rank(offers, Weights{CritPrice: 1, CritReliability: 1}, rel)
	if err != nil {
		t.Fatal(err)
	}
	if ranked[0].Provider != "c" {
		t.Errorf("the reliable provider must win the price tie, got %s", ranked[0].Provider)
	}
	if _, err := Rank(offers, Weights{"speed": 1}, nil); err == nil {
		t.Error("an unknown criterion must be refused")
	}
}

// RandomOffers builds n plausible offers for benchmarks and property tests.
func randomOffers(n int, seed uint64) []providers.Offer {
	r := rand.New(rand.NewPCG(seed, 1))
	now := time.Unix(0, 0)
	out := make([]providers.Offer, n)
	for i := range out {
		g := providers.GPUModels[r.IntN(len(providers.GPUModels))]
		c := 1 << r.IntN(4)
		o := providers.Offer{Provider: providers.Supported[r.IntN(len(providers.Supported))].ID, SKU: fmt.Sprintf("sku-%d", i), GPU: g.Name, GPUCount: c,
			Region: "region", PriceHour: (0.2 + r.Float64()*4) * float64(c), Availability: providers.Availabilities[r.IntN(3)]}
		o.Normalize(now)
		out[i] = o
	}
	return out
}

func BenchmarkTOPSIS100k(b *testing.B) {
	offers := randomOffers(100_000, 7)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Score(offers, DefaultWeights, nil); err != nil {
			b.Fatal(err)
		}
	}
}
