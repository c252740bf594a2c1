package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// anOffer is the id of an offer of p's visitors' catalogue.
func anOffer(t *testing.T, p *platformtest.Platform) string {
	t.Helper()
	res := p.Registry.Call(context.Background(), tools.Request{Actor: actor.Anonymous("acme", "127.0.0.1"), Face: audit.FaceDirect,
		Tool: tools.ToolMarketOverview, Input: []byte(`{}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, g := range res.Output.(tools.MarketOverview).GPUs {
		if g.Cheapest != nil {
			return g.Cheapest.ID
		}
	}
	t.Fatal("no offer in the catalogue")
	return ""
}

// TestAVisitorSeesAnOfferWithItsPriceHistory: anyone reaches an offer's
// page, with the machine's facts, the figures of its price history, the
// series for the chart as JSON in the page (no inline script: the policy
// stays our origin's), the range switch and the way to configure a pod
// on it; the range's prices are also answered as JSON for the switch.
func TestAVisitorSeesAnOfferWithItsPriceHistory(t *testing.T) {
	srv, p := serverOf(t)
	id := anOffer(t, p)
	resp, body := get(t, srv, "/offers/"+id)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the offer page: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{`<dt>GPU memory</dt>`, `<dt>vCPUs</dt>`, `<dt>Region</dt>`, `<dt>On demand</dt>`, `<dt>Availability</dt>`,
		`href="/pods/new?offer=` + id + `"`, `<script type="application/json" id="price-data">{`, `id="price-chart"`, `href="?range=7d"`,
		`href="?range=24h" data-range="24h" aria-current="true"`, `id="price-latest">$`, `src="/static/vendor/uplot/uPlot.iife.min.js"`,
		`src="/static/offer.js"`, `href="/static/vendor/uplot/uPlot.min.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the offer page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>") || external.MatchString(body) {
		t.Error("the offer page has an inline script or reaches another origin")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q", csp)
	}

	resp, body = get(t, srv, "/offers/"+id+"/prices?range=30d")
	var c struct {
		Range  string  `json:"range"`
		From   int64   `json:"from"`
		To     int64   `json:"to"`
		Times  []int64 `json:"t"`
		Price  []int64 `json:"price"`
		Points int     `json:"points"`
		Latest string  `json:"latest"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the prices: %d %v\n%s", resp.StatusCode, err, body)
	}
	if c.Range != "30d" || c.To-c.From != 30*24*3600 || c.Points == 0 || len(c.Times) != c.Points || len(c.Price) != c.Points ||
		c.Price[0] <= 0 || !strings.HasPrefix(c.Latest, "$") {
		t.Errorf("the prices over 30 days: %+v", c)
	}
}

// TestAnOfferPageRefusesWhatItCannotShow: an unknown offer is the
// not-found page, an unknown range a 400 page that names the ranges (and
// a 400 JSON answer for the switch); never a 500.
func TestAnOfferPageRefusesWhatItCannotShow(t *testing.T) {
	srv, p := serverOf(t)
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/offers/nowhere-abc", http.StatusNotFound, "There is no such page."},
		{"/offers/" + anOffer(t, p) + "?range=1y", http.StatusBadRequest, "choose 24h, 7d or 30d"},
		{"/offers/" + anOffer(t, p) + "/prices?range=1y", http.StatusBadRequest, `"error"`},
	} {
		resp, body := get(t, srv, c.path)
		if resp.StatusCode != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d, want %d saying %q\n%s", c.path, resp.StatusCode, c.status, c.says, body)
		}
	}
}
