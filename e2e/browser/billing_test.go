package browser_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// cheapestOffer is the id of the cheapest offer of a popular GPU in the
// visitors' catalogue of a.
func cheapestOffer(t *testing.T, a *app.App) string {
	t.Helper()
	res := a.Tools.Call(context.Background(), tools.Request{Actor: actor.Anonymous(tenant.DefaultID, "127.0.0.1"), Face: audit.FaceDirect,
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

// chartDrawn holds once uPlot drew the chart in el (a CSS selector): its
// canvas inside .uplot, with a size.
func chartDrawn(el string) string {
	return `(() => { const c = document.querySelector('` + el + ` .uplot canvas'); return c !== null && c.width > 0 && c.height > 0; })()`
}

// TestAnOfferPageDrawsItsPriceHistory: a visitor's offer page draws the
// price history on a canvas at each width and fits the screen; choosing
// 7 days fetches that range and draws it again in place, marks the
// choice and keeps it in the address; nothing reports a script error or
// a load the policy refused.
func TestAnOfferPageDrawsItsPriceHistory(t *testing.T) {
	url, a := platformApp(t)
	id := cheapestOffer(t, a)
	b := newBrowser(t)
	for _, w := range widths {
		b.do(t, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url+"/offers/"+id))
		b.until(t, chartDrawn("#price-chart"))
		b.fits(t, "the offer page", w)
		b.shot(t, "offer", w)
	}
	drawn := eval[string](t, b, `document.getElementById("price-chart").dataset.drawn`)
	b.do(t, chromedp.Click(chromedp.CSS(`.interval [data-range="7d"]`)))
	b.until(t, `document.getElementById("price-chart").dataset.drawn !== "`+drawn+`" && `+chartDrawn("#price-chart"))
	if !eval[bool](t, b, `document.querySelector('[data-range="7d"]').getAttribute("aria-current") === "true" && location.search === "?range=7d"`) {
		t.Error("the 7 days range is not marked chosen")
	}
	if got := eval[string](t, b, `document.getElementById("price-caption").textContent`); got == "" {
		t.Error("no caption after the switch")
	}
	b.noProblems(t, "the offer page")
}

// TestTheBillingPageDrawsTheMonthsCosts: someone with one pod deployed,
// ready and activated from its mail (so running and charged) sees the month's cost by day and by
// pod drawn on canvases, the pod in the table, and the invoices section,
// at each width, fitting the screen, with no script error or refused
// load.
func TestTheBillingPageDrawsTheMonthsCosts(t *testing.T) {
	url, a := platformApp(t)
	b := newBrowser(t)
	pod, call := registeredWithAPod(t, b, a, url, "Flo", "flo@example.com")
	deadline := time.Now().Add(60 * time.Second)
	// Activated from its mail, the pod runs and its seconds are charged.
	link := `document.querySelector('.mail[data-kind="activation"] a[href*="/activate?token="]')`
	b.do(t, chromedp.Navigate(url+"/mailbox"))
	b.reloadUntil(t, link+` !== null`)
	token := eval[string](t, b, `new URL(`+link+`.href).searchParams.get("token")`)
	call(tools.ToolActivatePod, `{"id":"`+pod.ID+`","token":"`+token+`"}`)
	for call(tools.ToolUsageSummary, `{}`).Output.(billing.Rollup).Total.Seconds < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the running pod is never charged")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, w := range widths {
		b.do(t, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url+"/billing"))
		b.until(t, chartDrawn("#cost-by-day")+" && "+chartDrawn("#cost-by-pod"))
		if !eval[bool](t, b, `document.querySelector('table.costs tr[data-pod="`+pod.ID+`"]') !== null && document.getElementById("invoices-title") !== null`) {
			t.Errorf("%d px: the pod's cost or the invoices section is missing", w)
		}
		b.fits(t, "the billing page", w)
		b.shot(t, "billing", w)
	}
	b.noProblems(t, "the billing page")
}
