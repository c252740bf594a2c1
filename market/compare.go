package market

import (
	"math"

	"github.com/gpubroker/pod/providers"
)

// Comparison is a few offers ranked with TOPSIS among themselves, with the
// best offer on each criterion.
type Comparison struct {
	Offers  []Compared           `json:"offers"`
	Best    map[Criterion]string `json:"best"`
	Weights Weights              `json:"weights"`
}

// Compared is one offer of a comparison with its value on each criterion.
type Compared struct {
	Ranked
	Values map[Criterion]float64 `json:"values"`
}

// Compare ranks offers among themselves with TOPSIS under w, best first,
// and names the best offer on each criterion (the first in rank order on a
// tie). reliability gives each provider's share of successful calls; nil
// counts every provider as fully reliable. Scores and price/performance
// are rounded to four decimals, the precision people compare them at.
func Compare(offers []providers.Offer, w Weights, reliability func(provider string) float64) (Comparison, error) {
	if reliability == nil {
		reliability = func(string) float64 { return 1 }
	}
	ranked, err := Rank(offers, w, reliability)
	if err != nil {
		return Comparison{}, err
	}
	out := Comparison{Offers: make([]Compared, 0, len(ranked)), Best: map[Criterion]string{}, Weights: w}
	best := map[Criterion]float64{}
	for _, r := range ranked {
		v := map[Criterion]float64{
			CritPrice:            r.PriceHour,
			CritGPUMemory:        float64(r.GPUMemoryGB * r.GPUCount),
			CritPerformance:      r.TFLOPS(),
			CritPricePerformance: round4(r.PricePerformance()),
			CritAvailability:     float64(r.Availability.Rank()),
			CritReliability:      reliability(r.Provider),
		}
		for crit, x := range v {
			cur, seen := best[crit]
			if !seen || (crit.Benefit() && x > cur) || (!crit.Benefit() && x < cur) {
				best[crit], out.Best[crit] = x, r.ID
			}
		}
		r.Score = round4(r.Score)
		out.Offers = append(out.Offers, Compared{Ranked: r, Values: v})
	}
	return out, nil
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
