package market

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// Criterion is one thing offers are ranked on.
type Criterion string

// The ranking criteria. Price is a cost criterion (lower is better); all
// others are benefits.
const (
	CritPrice            Criterion = "price"
	CritGPUMemory        Criterion = "gpu_memory"
	CritPerformance      Criterion = "performance"
	CritPricePerformance Criterion = "price_performance"
	CritAvailability     Criterion = "availability"
	CritReliability      Criterion = "reliability"
)

// Criteria lists every criterion in a fixed order.
var Criteria = []Criterion{CritPrice, CritGPUMemory, CritPerformance, CritPricePerformance, CritAvailability, CritReliability}

// Benefit reports whether more is better.
func (c Criterion) Benefit() bool { return c != CritPrice }

// Weights maps criteria to their relative importance; they need not sum to
// one (TOPSIS divides by the sum).
type Weights map[Criterion]float64

// DefaultWeights favour price and value for money.
var DefaultWeights = Weights{
	CritPrice: 0.35, CritPerformance: 0.15, CritPricePerformance: 0.2,
	CritGPUMemory: 0.1, CritAvailability: 0.15, CritReliability: 0.05,
}

// Validate rejects unknown criteria, negative or non-finite weights and an
// all-zero set.
func (w Weights) Validate() error {
	sum := 0.0
	for c, v := range w {
		if !c.known() {
			names := make([]string, len(Criteria))
			for i, k := range Criteria {
				names[i] = string(k)
			}
			return fmt.Errorf("unknown criterion %q (valid: %s)", c, strings.Join(names, ", "))
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("weight of %s must be a non-negative number", c)
		}
		sum += v
	}
	if sum == 0 {
		return fmt.Errorf("at least one weight must be above zero")
	}
	return nil
}

func (c Criterion) known() bool {
	for _, k := range Criteria {
		if k == c {
			return true
		}
	}
	return false
}

// TOPSIS scores m alternatives on n criteria with the Technique for Order
// of Preference by Similarity to Ideal Solution (Hwang and Yoon, 1981):
// vector-normalize each column, weight it, find the ideal and anti-ideal
// point (max of benefits and min of costs, and the reverse), and score each
// alternative by its relative closeness S⁻/(S⁺+S⁻) in [0,1], higher better.
//
// cols holds the matrix column by column (cols[j][i] is alternative i on
// criterion j), which keeps each pass over memory sequential. weights and
// benefit have one entry per column. scores, of length m, receives the
// result. A column that is zero everywhere carries no information and is
// skipped; an alternative equal to both ideals (all alternatives alike)
// scores 0.5.
func TOPSIS(cols [][]float64, weights []float64, benefit []bool, scores []float64) error {
	n := len(cols)
	if len(weights) != n || len(benefit) != n {
		return fmt.Errorf("topsis: %d columns, %d weights, %d directions", n, len(weights), len(benefit))
	}
	m := len(scores)
	wsum := 0.0
	for j, w := range weights {
		if len(cols[j]) != m {
			return fmt.Errorf("topsis: column %d has %d rows, want %d", j, len(cols[j]), m)
		}
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("topsis: weight %d is %v", j, w)
		}
		wsum += w
	}
	if wsum == 0 {
		return fmt.Errorf("topsis: all weights are zero")
	}
	// dPlus and dMinus accumulate squared distances in scores' companion
	// buffers; one allocation serves both.
	buf := make([]float64, 2*m)
	dPlus, dMinus := buf[:m], buf[m:]
	for j, col := range cols {
		w := weights[j] / wsum
		if w == 0 {
			continue
		}
		// One pass finds the column's norm and its extremes.
		ss, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
		for _, x := range col {
			ss += x * x
			if x < lo {
				lo = x
			}
			if x > hi {
				hi = x
			}
		}
		if ss == 0 || math.IsInf(ss, 0) || math.IsNaN(ss) {
			continue
		}
		k := w / math.Sqrt(ss)
		best, worst := hi*k, lo*k
		if !benefit[j] {
			best, worst = worst, best
		}
		for i, x := range col {
			v := x * k
			dp, dm := v-best, v-worst
			dPlus[i] += dp * dp
			dMinus[i] += dm * dm
		}
	}
	for i := range scores {
		sp, sm := math.Sqrt(dPlus[i]), math.Sqrt(dMinus[i])
		if sp+sm == 0 {
			scores[i] = 0.5
			continue
		}
		scores[i] = sm / (sp + sm)
	}
	return nil
}

// Ranked is an offer with its TOPSIS score.
type Ranked struct {
	providers.Offer
	Score float64 `json:"score"`
}

// Rank scores offers with TOPSIS on the weighted criteria and returns them
// best first. reliability gives each provider's share of successful calls
// (0..1); nil counts every provider as fully reliable. Ties are broken by
// lower price, then by offer id, so the order is deterministic.
func Rank(offers []providers.Offer, w Weights, reliability func(provider string) float64) ([]Ranked, error) {
	scores, err := Score(offers, w, reliability)
	if err != nil {
		return nil, err
	}
	out := make([]Ranked, len(offers))
	for i := range offers {
		out[i] = Ranked{Offer: offers[i], Score: scores[i]}
	}
	sort.Slice(out, func(a, b int) bool { return RankedLess(&out[a], &out[b]) })
	return out, nil
}

// RankedLess is the ranking order: higher score, then lower price, then id.
func RankedLess(a, b *Ranked) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if a.PriceHour != b.PriceHour {
		return a.PriceHour < b.PriceHour
	}
	return a.ID < b.ID
}

// Score computes the TOPSIS score of each offer, in the offers' order.
func Score(offers []providers.Offer, w Weights, reliability func(provider string) float64) ([]float64, error) {
	return scoreEach(len(offers), func(i int) *providers.Offer { return &offers[i] }, false, w, reliability)
}

// scoreEach scores m offers reached through at; spot uses the spot price
// as the price.
func scoreEach(m int, get func(int) *providers.Offer, spot bool, w Weights, reliability func(provider string) float64) ([]float64, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	// at[j] is the position in Criteria of the j-th weighted criterion.
	var at []int
	for k, c := range Criteria {
		if w[c] > 0 {
			at = append(at, k)
		}
	}
	n := len(at)
	backing := make([]float64, m*n)
	cols := make([][]float64, n)
	weights := make([]float64, n)
	benefit := make([]bool, n)
	needRel := false
	for j, k := range at {
		c := Criteria[k]
		cols[j], weights[j], benefit[j] = backing[j*m:(j+1)*m], w[c], c.Benefit()
		needRel = needRel || c == CritReliability
	}
	// One pass over the offers fills every column: each offer's values are
	// computed once, in Criteria order, with one GPU lookup per run of the
	// same model and one reliability call per provider.
	relCache := map[string]float64{}
	lastGPU, lastTFLOPS := "", 0.0
	lastProvider, lastRel := "", 1.0
	var vals [6]float64 // indexed like Criteria
	for i := 0; i < m; i++ {
		o := get(i)
		price := o.PriceHour
		if spot {
			price = o.SpotPriceHour
		}
		if o.GPU != lastGPU {
			lastGPU, lastTFLOPS = o.GPU, 0
			if g, ok := providers.LookupGPU(o.GPU); ok {
				lastTFLOPS = g.TFLOPS
			}
		}
		tflops := lastTFLOPS * float64(o.GPUCount)
		vals[0], vals[1], vals[2], vals[3], vals[4] = price, float64(o.GPUMemoryGB*o.GPUCount), tflops, 0, float64(o.Availability.Rank())
		if price > 0 {
			vals[3] = tflops / price
		}
		if needRel {
			if o.Provider != lastProvider {
				r, ok := relCache[o.Provider]
				if !ok {
					r = 1
					if reliability != nil {
						r = reliability(o.Provider)
					}
					relCache[o.Provider] = r
				}
				lastProvider, lastRel = o.Provider, r
			}
			vals[5] = lastRel
		}
		for j, k := range at {
			cols[j][i] = vals[k]
		}
	}
	scores := make([]float64, m)
	if err := TOPSIS(cols, weights, benefit, scores); err != nil {
		return nil, err
	}
	return scores, nil
}

// ParseWeights reads "price=0.5,performance=0.5" and validates it.
func ParseWeights(raw string) (Weights, error) {
	w := Weights{}
	for _, pair := range ParseList(raw) {
		k, v, ok := strings.Cut(pair, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("want criterion=weight pairs, got %q", pair)
		}
		w[Criterion(strings.TrimSpace(k))] = f
	}
	return w, w.Validate()
}

// String writes the weights as ParseWeights reads them, in criteria order.
func (w Weights) String() string {
	var parts []string
	for _, c := range Criteria {
		if v, ok := w[c]; ok {
			parts = append(parts, string(c)+"="+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}
