package pods

import (
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/money"
)

// Usage is one interval a pod ran, at the hourly price it ran at: what
// the owner is billed for. End is nil while the pod runs.
type Usage struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"tenant_id"`
	PodID     string       `json:"pod_id"`
	OwnerID   string       `json:"owner_id"`
	OfferID   string       `json:"offer_id"`
	PriceHour money.Amount `json:"price_hour"`
	Rate      Rate         `json:"rate"`
	Start     time.Time    `json:"start"`
	End       *time.Time   `json:"end,omitempty"`
	// GPUCount is how many GPUs the pod ran with in the interval.
	GPUCount int `json:"gpu_count"`
}

// Charge is what running costs, in its parts.
type Charge struct {
	Seconds  int64        `json:"seconds"`
	Provider money.Amount `json:"provider"`
	Markup   money.Amount `json:"markup"`
	Storage  money.Amount `json:"storage"`
	Total    money.Amount `json:"total"`
}

// Add sums two charges.
func (c Charge) Add(o Charge) Charge {
	return Charge{Seconds: c.Seconds + o.Seconds, Provider: c.Provider + o.Provider, Markup: c.Markup + o.Markup,
		Storage: c.Storage + o.Storage, Total: c.Total + o.Total}
}

// For is what running at r for secs whole seconds costs: the provider's
// price for the time, the markup on that, and storage for the time, each
// rounded once (so 90 minutes at $2.00 an hour under a 20 % markup is
// exactly $3.60).
func (r Rate) For(secs int64) (Charge, error) {
	c := Charge{Seconds: max(secs, 0)}
	var err error
	if c.Provider, err = r.ProviderHour.MulRat(c.Seconds, 3600); err != nil {
		return c, err
	}
	if c.Markup, err = c.Provider.MulRat(r.MarkupBps, 10_000); err != nil {
		return c, err
	}
	if c.Storage, err = r.StorageHour.MulRat(c.Seconds, 3600); err != nil {
		return c, err
	}
	c.Total = c.Provider + c.Markup + c.Storage
	return c, nil
}

// Within is the part of the interval inside [from, to), as of now for an
// interval still open; zero when they do not meet.
func (u Usage) Within(from, to, now time.Time) (start, end time.Time) {
	start, end = u.Start, now
	if u.End != nil {
		end = *u.End
	}
	if !from.IsZero() && start.Before(from) {
		start = from
	}
	if !to.IsZero() && end.After(to) {
		end = to
	}
	if !end.After(start) {
		return start, start
	}
	return start, end
}

// Cost is what the interval costs up to until (its end when it ended),
// for its whole seconds.
func (u Usage) Cost(until time.Time) (Charge, error) {
	start, end := u.Within(time.Time{}, time.Time{}, until)
	return u.Rate.For(int64(end.Sub(start) / time.Second))
}

// UsageFilter selects a tenant's intervals that overlap [From, To), newest
// first; zero bounds are open.
type UsageFilter struct {
	TenantID string
	OwnerID  string
	PodID    string
	From, To time.Time
	Limit    int
}

func usageOf(p Pod, at time.Time) Usage {
	return Usage{ID: "use_" + uuid.Must(uuid.NewV7()).String(), TenantID: p.TenantID, PodID: p.ID, OwnerID: p.OwnerID,
		OfferID: p.OfferID, PriceHour: p.PriceHour, Rate: p.Rate, Start: at, GPUCount: p.GPUCount}
}
