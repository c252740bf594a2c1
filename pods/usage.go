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
	Start     time.Time    `json:"start"`
	End       *time.Time   `json:"end,omitempty"`
}

// PriceSecond is the interval's price per second.
func (u Usage) PriceSecond() (money.Amount, error) { return u.PriceHour.MulRat(1, 3600) }

// Cost is what the interval costs up to until (its end when it ended):
// the hourly price times the whole seconds run, rounded once.
func (u Usage) Cost(until time.Time) (money.Amount, error) {
	if u.End != nil {
		until = *u.End
	}
	secs := int64(until.Sub(u.Start) / time.Second)
	if secs <= 0 {
		return 0, nil
	}
	return u.PriceHour.MulRat(secs, 3600)
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
		OfferID: p.OfferID, PriceHour: p.PriceHour, Start: at}
}
