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
	// Each group's charge is kept behind a pointer: one map lookup an
	// interval, not a read and a write.
	byPod, byProvider, byUser := map[string]*pods.Charge{}, map[string]*pods.Charge{}, map[string]*pods.Charge{}
	byDay := map[int64]*pods.Charge{} // by days since 1970-01-01
	providerOf := map[string]string{} // by offer: few offers, many intervals
	add := func(m map[string]*pods.Charge, key string, c pods.Charge) {
		if p := m[key]; p != nil {
			*p = p.Add(c)
			return
		}
		m[key] = &c
	}
	out := Rollup{From: from, To: to}
	roll := func(use pods.Usage) error {
		start, end := use.Within(from, to, now)
		provider, ok := providerOf[use.OfferID]
		if !ok {
			provider = providers.ProviderOfOffer(use.OfferID)
			providerOf[use.OfferID] = provider
		}
		var sum pods.Charge
		// In nanoseconds, so each piece is its whole seconds as before.
		const nsPerDay = secondsPerDay * int64(time.Second)
		for at, stop := start.UnixNano(), end.UnixNano(); at < stop; {
			day := at / nsPerDay
			next := min((day+1)*nsPerDay, stop) // the next midnight (UTC), or the end
			c, err := use.Rate.For((next - at) / int64(time.Second))
			if err != nil {
				return err
			}
			sum = sum.Add(c)
			if p := byDay[day]; p != nil {
				*p = p.Add(c)
			} else {
				byDay[day] = &c
			}
			at = next
		}
		if sum.Seconds > 0 {
			out.Total = out.Total.Add(sum)
			add(byPod, use.PodID, sum)
			add(byProvider, provider, sum)
			add(byUser, use.OwnerID, sum)
		}
		return nil
	}
	err := pipelined(ctx, u, f, roll)
	days := make(map[string]*pods.Charge, len(byDay))
	for d, c := range byDay {
		days[time.Unix(d*secondsPerDay, 0).UTC().Format(time.DateOnly)] = c
	}
	out.ByPod, out.ByDay, out.ByProvider, out.ByUser = lines(byPod, false), lines(days, true), lines(byProvider, false), lines(byUser, false)
	return out, err
}

const secondsPerDay = 24 * 60 * 60

// pipelined hands every interval f selects to fn on a goroutine of its
// own, in batches, while the store reads the next ones: reading a month
// and charging it each take a core. fn's first error stops the reading.
func pipelined(ctx context.Context, u Usages, f pods.UsageFilter, fn func(pods.Usage) error) error {
	const size = 2048
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []pods.Usage, 4)
	failed := make(chan error, 1)
	go func() {
		defer close(failed)
		for batch := range batches {
			for _, use := range batch {
				if err := fn(use); err != nil {
					failed <- err
					cancel()
					for range batches { // let the reader finish
					}
					return
				}
			}
		}
	}()
	batch := make([]pods.Usage, 0, size)
	err := u.EachUsage(ctx, f, func(use pods.Usage) error {
		batch = append(batch, use)
		if len(batch) == size {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]pods.Usage, 0, size)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	if ferr := <-failed; ferr != nil {
		return ferr
	}
	return err
}

// lines orders a grouping: days by date, the others costliest first.
func lines(m map[string]*pods.Charge, byKey bool) []Line {
	out := make([]Line, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Line{Key: k, Charge: *m[k]})
	}
	if !byKey {
		slices.SortStableFunc(out, func(a, b Line) int { return cmp.Compare(b.Total, a.Total) })
	}
	return out
}
