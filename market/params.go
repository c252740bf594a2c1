package market

import (
	"sync"
	"sync/atomic"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// Params declares the aggregator's tunables beyond those of the platform
// catalogue (timeouts, cache TTL and breaker thresholds live there).
func Params() []params.Spec {
	return []params.Spec{
		{Key: "providers.rate_per_second", Type: params.TypeFloat, Default: "2", Affects: params.AffectsBoth, GlobalOnly: true,
			Description: "Calls per second the platform makes to each provider's API (token bucket rate); a 429 answer's Retry-After is honoured on top.",
			Rules:       []params.Rule{params.Range(0.1, 1000)}},
		{Key: "providers.rate_burst", Type: params.TypeInt, Default: "5", Affects: params.AffectsBoth, GlobalOnly: true,
			Description: "Calls one provider may receive at once before the rate applies (token bucket size).",
			Rules:       []params.Rule{params.Range(1, 1000)}},
		{Key: "providers.topsis_weights", Type: params.TypeString, Default: DefaultWeights.String(), Affects: params.AffectsBoth,
			Description: "Default TOPSIS weights, as criterion=weight pairs: price, gpu_memory, performance, price_performance, availability, reliability.",
			Rules: []params.Rule{{Desc: "must be criterion=weight pairs of known criteria with at least one weight above zero",
				Check: func(_ mode.Mode, v params.Value) bool { _, err := ParseWeights(v.String()); return err == nil }}}},
	}
}

// SettingsFrom reads the aggregator settings from a parameter snapshot.
func SettingsFrom(s *params.Snapshot) Settings {
	return Settings{
		Timeout:         s.Duration("", "", "providers.request_timeout"),
		TTL:             s.Duration("", "", "providers.price_cache_ttl"),
		BreakerFailures: int(s.Int("", "", "providers.breaker_failures")),
		BreakerCooldown: s.Duration("", "", "providers.breaker_cooldown"),
		RatePerSecond:   s.Float("", "", "providers.rate_per_second"),
		Burst:           int(s.Int("", "", "providers.rate_burst")),
	}
}

// WeightsMemo reads default TOPSIS weights from parameters, parsing each
// distinct setting once rather than on every listing. The zero value is
// ready; it is safe for concurrent use.
type WeightsMemo struct {
	parsed sync.Map // raw parameter value → Weights
	size   atomic.Int64
}

// maxMemoWeights bounds a WeightsMemo: past it, the memo starts over.
const maxMemoWeights = 256

// From reads a tenant's default TOPSIS weights. The answer is
// shared: callers must not change it.
func (w *WeightsMemo) From(s *params.Snapshot, tenantID string, m mode.Mode) Weights {
	raw := s.String(tenantID, m, "providers.topsis_weights")
	if v, ok := w.parsed.Load(raw); ok {
		return v.(Weights)
	}
	parsed, err := ParseWeights(raw)
	if err != nil {
		parsed = DefaultWeights
	}
	if w.size.Add(1) > maxMemoWeights {
		w.parsed.Clear()
		w.size.Store(1)
	}
	w.parsed.Store(raw, parsed)
	return parsed
}
