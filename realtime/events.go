package realtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
)

// Prefixes of the event types the hub takes whole families of: every
// pod event, every agent decision's.
const (
	decisionEventPrefix = "agent.decision_"
	podEventPrefix      = "pod."
)

// Owner-facing pod events, also sent to the owner's notifications.
var podNotices = map[events.Type]bool{pods.EventMoved: true, pods.EventScaled: true, pods.EventScaleFailed: true}

// Translator turns events of the stream (CloudEvents) into the hub's
// messages. It drops price updates that repeat what it already passed
// on (every instance refreshes prices, so each change may come once per
// instance). It is safe for concurrent use.
type Translator struct {
	mu     sync.Mutex
	prices map[string]map[string]priceState // feed → offer → last passed on
}

type priceState struct {
	price, spot float64
	avail       providers.Availability
}

// NewTranslator returns a translator that has passed on nothing yet.
func NewTranslator() *Translator {
	return &Translator{prices: map[string]map[string]priceState{}}
}

// podView is what a pod's followers see of it: its state and what the
// pod pages show beside it, never its connection details (which the
// owner reads over REST).
type podView struct {
	ID        string          `json:"id"`
	TenantID  string          `json:"tenant_id"`
	OwnerID   string          `json:"owner_id"`
	Name      string          `json:"name"`
	State     string          `json:"state"`
	Reason    string          `json:"reason,omitempty"`
	Revision  int64           `json:"revision"`
	PriceHour json.RawMessage `json:"price_hour,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

type podEvent struct {
	Pod    podView `json:"pod"`
	From   string  `json:"from,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// Messages is what one event of the stream becomes: none for an event
// no channel carries.
func (t *Translator) Messages(value []byte) ([]Message, error) {
	var ce events.CloudEvent
	if err := json.Unmarshal(value, &ce); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	switch {
	case strings.HasPrefix(string(ce.Type), podEventPrefix):
		var pe podEvent
		if err := json.Unmarshal(ce.Data, &pe); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", ce.Type, ce.ID, err)
		}
		if pe.Pod.ID == "" {
			return nil, fmt.Errorf("%s %s names no pod", ce.Type, ce.ID)
		}
		data, err := json.Marshal(pe)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", ce.Type, ce.ID, err)
		}
		out := []Message{{Channel: PodKey(pe.Pod.ID), Event: string(ce.Type), Data: data}}
		if podNotices[ce.Type] && pe.Pod.TenantID != "" {
			out = append(out, Message{Channel: NotificationsKey(pe.Pod.TenantID), Event: string(ce.Type), Data: data,
				To: Audience{User: pe.Pod.OwnerID}})
		}
		return out, nil
	case strings.HasPrefix(string(ce.Type), decisionEventPrefix) && ce.Tenant != "":
		return []Message{{Channel: AgentKey(ce.Tenant), Event: string(ce.Type), Data: ce.Data}}, nil
	case ce.Type == notify.EventAdminNotified && ce.Tenant != "":
		return []Message{{Channel: NotificationsKey(ce.Tenant), Event: string(ce.Type), Data: ce.Data,
			To: Audience{Role: actor.RolePodAdmin}}}, nil
	case ce.Type == market.EventPricesUpdated:
		return t.priceMessages(ce)
	}
	return nil, nil
}

// prices keeps of an update the offers whose price or availability
// differ from what was last passed on for the feed.
func (t *Translator) priceMessages(ce events.CloudEvent) ([]Message, error) {
	var pu market.PricesUpdated
	if err := json.Unmarshal(ce.Data, &pu); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", ce.Type, ce.ID, err)
	}
	if pu.Feed == "" {
		return nil, fmt.Errorf("%s %s names no feed", ce.Type, ce.ID)
	}
	t.mu.Lock()
	seen := t.prices[pu.Feed]
	if seen == nil {
		seen = map[string]priceState{}
		t.prices[pu.Feed] = seen
	}
	changed := pu.Offers[:0]
	for _, o := range pu.Offers {
		s := priceState{o.PriceHour, o.SpotPriceHour, o.Availability}
		if last, ok := seen[o.OfferID]; ok && last == s {
			continue
		}
		seen[o.OfferID] = s
		changed = append(changed, o)
	}
	t.mu.Unlock()
	if len(changed) == 0 {
		return nil, nil
	}
	pu.Offers = changed
	data, err := json.Marshal(pu)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", ce.Type, ce.ID, err)
	}
	return []Message{{Channel: PricesKey(pu.Feed), Event: string(ce.Type), Data: data}}, nil
}
