package pods

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/providers"
)

// MaxFleetHours is the longest window of hours a fleet series covers (30
// days).
const MaxFleetHours = 720

// Unassigned is the provider of pods not placed on an offer yet.
const Unassigned = "unassigned"

// FleetCount is how many of a tenant's pods on one offer are in one state
// now, the GPUs they have and the sum of their hourly prices: the store
// answers the tenant's pods grouped so.
type FleetCount struct {
	OfferID   string
	State     State
	Pods      int
	GPUs      int
	PriceHour money.Amount
}

// FleetSlot is what ran on one offer in one hour of a window, read from
// the running intervals: the pods that ran in it, their GPUs (a pod
// scaled within the hour counts with its most), and the hourly prices
// times the seconds each ran, in micro-units × seconds, so that spend is
// divided by an hour once per provider and hour, not rounded per piece.
type FleetSlot struct {
	Hour        time.Time
	OfferID     string
	Pods        int
	GPUs        int
	PriceSecond int64
}

// FleetReader reads a tenant's fleet; the store implements it.
type FleetReader interface {
	// FleetNow groups the tenant's pods by offer and state.
	FleetNow(ctx context.Context, tenantID string) ([]FleetCount, error)
	// FleetHours groups what ran in each of hours hours from from (the
	// last cut at now) by hour and offer, hours without any left out.
	FleetHours(ctx context.Context, tenantID string, from time.Time, hours int, now time.Time) ([]FleetSlot, error)
}

// StateCount is how many pods are in one state.
type StateCount struct {
	State State `json:"state"`
	Pods  int   `json:"pods"`
}

// ProviderNow is one provider's part of the fleet now.
type ProviderNow struct {
	Provider string       `json:"provider"`
	Pods     []StateCount `json:"pods"`
	// GPUsRunning are the GPUs of the running pods.
	GPUsRunning int `json:"gpus_running"`
	// SpendHour is what the running pods cost an hour (their prices,
	// markup and storage included).
	SpendHour money.Amount `json:"spend_hour"`
}

// FleetNow is the fleet as it is: pods by state, GPUs running and spend
// per hour, in total and by provider (the costliest first).
type FleetNow struct {
	Pods        []StateCount  `json:"pods"`
	GPUsRunning int           `json:"gpus_running"`
	SpendHour   money.Amount  `json:"spend_hour"`
	ByProvider  []ProviderNow `json:"by_provider"`
}

// ProviderHour is one provider's part of an hour.
type ProviderHour struct {
	Provider string       `json:"provider"`
	Pods     int          `json:"pods"`
	GPUs     int          `json:"gpus"`
	Spend    money.Amount `json:"spend"`
}

// FleetHour is one hour (UTC) of the series: the pods that ran in it,
// their GPUs, and what running cost in it, in total and by provider. A
// pod that moved to another provider within the hour counts with each.
type FleetHour struct {
	Hour       time.Time      `json:"hour"`
	Pods       int            `json:"pods"`
	GPUs       int            `json:"gpus"`
	Spend      money.Amount   `json:"spend"`
	ByProvider []ProviderHour `json:"by_provider"`
}

// Utilization is a tenant's fleet now and over the last hours.
type Utilization struct {
	At  time.Time `json:"at"`
	Now FleetNow  `json:"now"`
	// Hours is how many hours the series covers, the current one last
	// (so far).
	Hours  int         `json:"hours"`
	Series []FleetHour `json:"series"`
}

// FleetWindow is where a series of hours ending now starts: the hour
// now falls in is the last.
func FleetWindow(now time.Time, hours int) time.Time {
	return now.UTC().Truncate(time.Hour).Add(-time.Duration(hours-1) * time.Hour)
}

// ReadFleet reads a tenant's fleet now and over the last hours (1 to
// MaxFleetHours) as of now.
func ReadFleet(ctx context.Context, r FleetReader, tenantID string, hours int, now time.Time) (Utilization, error) {
	if hours < 1 || hours > MaxFleetHours {
		return Utilization{}, fmt.Errorf("fleet of %d hours: want 1 to %d", hours, MaxFleetHours)
	}
	now = now.UTC().Truncate(time.Second)
	counts, err := r.FleetNow(ctx, tenantID)
	if err != nil {
		return Utilization{}, fmt.Errorf("read the fleet of %s: %w", tenantID, err)
	}
	from := FleetWindow(now, hours)
	slots, err := r.FleetHours(ctx, tenantID, from, hours, now)
	if err != nil {
		return Utilization{}, fmt.Errorf("read the fleet history of %s: %w", tenantID, err)
	}
	series, err := Series(slots, from, hours)
	if err != nil {
		return Utilization{}, err
	}
	return Utilization{At: now, Now: Now(counts), Hours: hours, Series: series}, nil
}

// providerOf names the provider of an offer id, remembering each offer.
type offerProviders map[string]string

func (m offerProviders) of(offerID string) string {
	if p, ok := m[offerID]; ok {
		return p
	}
	p := cmp.Or(providers.ProviderOfOffer(offerID), Unassigned)
	m[offerID] = p
	return p
}

// Now folds the tenant's pods, grouped by offer and state, into the fleet
// now by provider.
func Now(counts []FleetCount) FleetNow {
	names := offerProviders{}
	by := map[string]*ProviderNow{}
	states := map[string]map[State]int{}
	total := map[State]int{}
	var out FleetNow
	for _, c := range counts {
		name := names.of(c.OfferID)
		p := by[name]
		if p == nil {
			p = &ProviderNow{Provider: name}
			by[name], states[name] = p, map[State]int{}
		}
		states[name][c.State] += c.Pods
		total[c.State] += c.Pods
		if c.State == Running {
			p.GPUsRunning += c.GPUs
			p.SpendHour += c.PriceHour
			out.GPUsRunning += c.GPUs
			out.SpendHour += c.PriceHour
		}
	}
	out.Pods = stateCounts(total)
	out.ByProvider = make([]ProviderNow, 0, len(by))
	for name, p := range by {
		p.Pods = stateCounts(states[name])
		out.ByProvider = append(out.ByProvider, *p)
	}
	slices.SortFunc(out.ByProvider, func(a, b ProviderNow) int {
		return cmp.Or(cmp.Compare(b.SpendHour, a.SpendHour), cmp.Compare(a.Provider, b.Provider))
	})
	return out
}

// stateCounts lists the states with pods in the order of a pod's life.
func stateCounts(m map[State]int) []StateCount {
	out := []StateCount{}
	for _, s := range States {
		if n := m[s]; n > 0 {
			out = append(out, StateCount{State: s, Pods: n})
		}
	}
	return out
}

// Series folds the slots of a window of hours from from into one entry an
// hour, by provider (the costliest first), hours with nothing run
// included. Each provider's spend in an hour is its price-seconds divided
// by an hour, rounded once; an hour's spend is the sum of its providers'.
func Series(slots []FleetSlot, from time.Time, hours int) ([]FleetHour, error) {
	from = from.UTC()
	out := make([]FleetHour, hours)
	for i := range out {
		out[i] = FleetHour{Hour: from.Add(time.Duration(i) * time.Hour), ByProvider: []ProviderHour{}}
	}
	type key struct {
		hour     int
		provider string
	}
	names := offerProviders{}
	sums := map[key]*struct {
		ProviderHour
		priceSeconds int64
	}{}
	var keys []key
	for _, s := range slots {
		i := int(s.Hour.Sub(from) / time.Hour)
		if i < 0 || i >= hours {
			return nil, fmt.Errorf("fleet hour %s is outside the window from %s", s.Hour, from)
		}
		k := key{i, names.of(s.OfferID)}
		p := sums[k]
		if p == nil {
			p = &struct {
				ProviderHour
				priceSeconds int64
			}{ProviderHour: ProviderHour{Provider: k.provider}}
			sums[k] = p
			keys = append(keys, k)
		}
		p.Pods += s.Pods
		p.GPUs += s.GPUs
		p.priceSeconds += s.PriceSecond
	}
	for _, k := range keys {
		p := sums[k]
		spend, err := money.Amount(p.priceSeconds).MulRat(1, 3600)
		if err != nil {
			return nil, fmt.Errorf("fleet spend of %s: %w", k.provider, err)
		}
		p.Spend = spend
		h := &out[k.hour]
		h.Pods += p.Pods
		h.GPUs += p.GPUs
		h.Spend += spend
		h.ByProvider = append(h.ByProvider, p.ProviderHour)
	}
	for i := range out {
		slices.SortFunc(out[i].ByProvider, func(a, b ProviderHour) int {
			return cmp.Or(cmp.Compare(b.Spend, a.Spend), cmp.Compare(a.Provider, b.Provider))
		})
	}
	return out, nil
}
