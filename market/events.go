package market

import "github.com/gpubroker/pod/events"

// EventPricesUpdated: a refresh found offers whose price or availability
// changed since the last one this instance recorded. Its key is the
// feed (PricesUpdated.Feed), so one feed's updates stay in order.
const EventPricesUpdated events.Type = "market.prices_updated"

// PricesUpdated is the payload of EventPricesUpdated.
type PricesUpdated struct {
	// Feed names whose offers these are: "sandbox", or "live:{tenant}"
	// for a LIVE tenant's own adapters.
	Feed   string       `json:"feed"`
	Offers []PricePoint `json:"offers"`
}

// Feed names a price feed: the shared SANDBOX one (tenantID "") or a
// LIVE tenant's own.
func Feed(tenantID string) string {
	if tenantID == "" {
		return "sandbox"
	}
	return "live:" + tenantID
}
