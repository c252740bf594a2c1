package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tools"
)

// priceRange is a span of price history the offer page can show.
type priceRange struct {
	Key   string
	Label string
	Hours int
}

// priceRanges are the offer page's spans, the first shown by default.
var priceRanges = []priceRange{{"24h", "24 hours", 24}, {"7d", "7 days", 7 * 24}, {"30d", "30 days", 30 * 24}}

// rangeOf is the span r asks for: the default when it asks for none, false
// when it asks for one the page does not know.
func rangeOf(r *http.Request) (priceRange, bool) {
	key := r.URL.Query().Get("range")
	if key == "" {
		return priceRanges[0], true
	}
	for _, pr := range priceRanges {
		if pr.Key == key {
			return pr, true
		}
	}
	return priceRange{}, false
}

// priceChart is an offer's prices over a span, as the chart script reads
// it: times in Unix seconds, prices per hour in micro-dollars (the spot
// price null where the offer had none), and the figures written out.
type priceChart struct {
	Range  string   `json:"range"`
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Times  []int64  `json:"t"`
	Price  []int64  `json:"price"`
	Spot   []*int64 `json:"spot"`
	Points int      `json:"points"`
	Min    string   `json:"min"`
	Max    string   `json:"max"`
	Latest string   `json:"latest"`
}

// offerView is the offer page's data.
type offerView struct {
	Offer  tools.OfferDetail
	Price  money.Amount
	Spot   money.Amount
	Ranges []priceRange
	Range  priceRange
	// Chart is written into the page as JSON for its script.
	Chart priceChart
}

// prices reads offer id's price history over pr as who, as the chart
// draws it.
func (p *Pages) prices(r *http.Request, id string, pr priceRange) (priceChart, error) {
	var s tools.PriceSeries
	in := tools.PriceHistoryInput{OfferID: id, Hours: pr.Hours, Limit: 5000}
	if err := p.call(r, p.caller(r), tools.ToolPriceHistory, in, &s); err != nil {
		return priceChart{}, err
	}
	now := p.d.Now()
	c := priceChart{Range: pr.Key, From: now.Add(-time.Duration(pr.Hours) * time.Hour).Unix(), To: now.Unix(), Points: len(s.Points),
		Times: []int64{}, Price: []int64{}, Spot: []*int64{}}
	for _, pt := range s.Points {
		price, err := money.FromFloat(pt.PriceHour)
		if err != nil {
			return c, fmt.Errorf("price of %s at %s: %w", id, pt.At, err)
		}
		var spot *int64
		if pt.SpotPriceHour > 0 {
			a, err := money.FromFloat(pt.SpotPriceHour)
			if err != nil {
				return c, fmt.Errorf("spot price of %s at %s: %w", id, pt.At, err)
			}
			micros := a.Micros()
			spot = &micros
		}
		c.Times, c.Price, c.Spot = append(c.Times, pt.At.Unix()), append(c.Price, price.Micros()), append(c.Spot, spot)
	}
	figure := func(usd float64) string {
		if len(s.Points) == 0 {
			return "—"
		}
		a, err := money.FromFloat(usd)
		if err != nil {
			return "—"
		}
		return a.String() + "/h"
	}
	c.Min, c.Max, c.Latest = figure(s.Min), figure(s.Max), figure(s.Latest)
	return c, nil
}

// offer shows one offer (R10) to anyone: its machine, its prices now and
// over the last day, week or month, and the way to configure a pod on it.
func (p *Pages) offer(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	pr, ok := rangeOf(r)
	if !ok {
		p.badRequest(w, r, "There is no such price range: choose 24h, 7d or 30d.")
		return
	}
	v := offerView{Ranges: priceRanges, Range: pr}
	if err := p.call(r, p.caller(r), tools.ToolGetOffer, tools.OfferInput{ID: id}, &v.Offer); err != nil {
		if fault.KindOf(err) == fault.KindNotFound {
			p.notFound(w, r)
			return
		}
		p.fail(w, r, err)
		return
	}
	var err error
	if v.Price, err = money.FromFloat(v.Offer.PriceHour); err != nil {
		p.fail(w, r, err)
		return
	}
	if v.Offer.SpotPriceHour > 0 {
		if v.Spot, err = money.FromFloat(v.Offer.SpotPriceHour); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	if v.Chart, err = p.prices(r, id, pr); err != nil {
		p.fail(w, r, err)
		return
	}
	title := fmt.Sprintf("%d × %s on %s", v.Offer.GPUCount, v.Offer.GPU, v.Offer.ProviderName)
	p.render(w, r, http.StatusOK, "offer", view{Title: title, Nav: "offers", Data: v})
}

// offerPrices answers an offer's price history over the span asked for,
// as JSON: the offer page's range switch redraws its chart from it.
func (p *Pages) offerPrices(w http.ResponseWriter, r *http.Request) {
	pr, ok := rangeOf(r)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown range: choose 24h, 7d or 30d"})
		return
	}
	c, err := p.prices(r, chi.URLParam(r, "id"), pr)
	if err != nil {
		status, msg := failure(err)
		if status >= 500 {
			p.d.Log.ErrorContext(r.Context(), "price history failed", "path", r.URL.Path, "err", err)
		}
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
