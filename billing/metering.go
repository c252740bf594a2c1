package billing

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
)

// Usages streams a tenant's running intervals (the store implements it).
type Usages interface {
	EachUsage(ctx context.Context, f pods.UsageFilter, fn func(pods.Usage) error) error
}

// Line is the charge of one pod, day, provider or user.
type Line struct {
	Key string `json:"key"`
	pods.Charge
}

// Rollup is what running cost over a period, in total and by pod, by UTC
// day, by provider and by user. Every interval is cut at the period's
// bounds and at each midnight, and each piece is charged once, so every
// grouping adds up to the same total to the micro-dollar.
type Rollup struct {
	From       time.Time   `json:"from"`
	To         time.Time   `json:"to"`
	Total      pods.Charge `json:"total"`
	ByPod      []Line      `json:"by_pod"`
	ByDay      []Line      `json:"by_day"`
	ByProvider []Line      `json:"by_provider"`
	ByUser     []Line      `json:"by_user"`
}

// Month is the calendar month (UTC) named by period ("2006-01"), or the
// one now falls in when period is empty.
func Month(period string, now time.Time) (from, to time.Time, err error) {
	if period == "" {
		from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	} else if from, err = time.Parse("2006-01", period); err != nil {
		return from, to, fmt.Errorf("period %q: want a month as 2006-01", period)
	}
	return from, from.AddDate(0, 1, 0), nil
}

// Roll charges the intervals f selects within [from, to), as of now for
// intervals still open.
func Roll(ctx context.Context, u Usages, f pods.UsageFilter, from, to, now time.Time) (Rollup, error) {
	f.From, f.To = from, to
	byPod, byProvider, byUser := map[string]pods.Charge{}, map[string]pods.Charge{}, map[string]pods.Charge{}
	byDay := map[int64]pods.Charge{}  // by days since 1970-01-01
	providerOf := map[string]string{} // by offer: few offers, many intervals
	out := Rollup{From: from, To: to}
	err := u.EachUsage(ctx, f, func(use pods.Usage) error {
		start, end := use.Within(from, to, now)
		provider, ok := providerOf[use.OfferID]
		if !ok {
			provider = providers.ProviderOfOffer(use.OfferID)
			providerOf[use.OfferID] = provider
		}
		var sum pods.Charge
		for start.Before(end) {
			midnight := time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, time.UTC)
			stop := end
			if midnight.Before(end) {
				stop = midnight
			}
			c, err := use.Rate.For(int64(stop.Sub(start) / time.Second))
			if err != nil {
				return err
			}
			sum = sum.Add(c)
			day := start.Unix() / secondsPerDay
			byDay[day] = byDay[day].Add(c)
			start = stop
		}
		if sum.Seconds > 0 {
			out.Total = out.Total.Add(sum)
			byPod[use.PodID] = byPod[use.PodID].Add(sum)
			byProvider[provider] = byProvider[provider].Add(sum)
			byUser[use.OwnerID] = byUser[use.OwnerID].Add(sum)
		}
		return nil
	})
	days := make(map[string]pods.Charge, len(byDay))
	for d, c := range byDay {
		days[time.Unix(d*secondsPerDay, 0).UTC().Format(time.DateOnly)] = c
	}
	out.ByPod, out.ByDay, out.ByProvider, out.ByUser = lines(byPod, false), lines(days, true), lines(byProvider, false), lines(byUser, false)
	return out, err
}

const secondsPerDay = 24 * 60 * 60

// lines orders a grouping: days by date, the others costliest first.
func lines(m map[string]pods.Charge, byKey bool) []Line {
	out := make([]Line, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Line{Key: k, Charge: m[k]})
	}
	if !byKey {
		slices.SortStableFunc(out, func(a, b Line) int { return cmp.Compare(b.Total, a.Total) })
	}
	return out
}
