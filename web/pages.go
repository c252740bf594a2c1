package web

import (
	"net/http"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/tools"
)

// landing is the front page: what the platform offers, the cheapest offer
// of each popular GPU now, the providers, and the ways in.
func (p *Pages) landing(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		p.notFound(w, r)
		return
	}
	var ov tools.MarketOverview
	if err := p.call(r, p.caller(r), tools.ToolMarketOverview, struct{}{}, &ov); err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "landing", view{Title: "GPU pods from every cloud, at the best price", Nav: "home", Data: ov})
}

// plansView is the plans page's data: the catalogue and the interval
// shown first.
type plansView struct {
	Plans      []billing.Plan
	Comparison []billing.FeatureRow
	Annual     bool
}

// plans shows FREE, PRO and ENTERPRISE with their prices per month or
// year and the features side by side; choosing one leads to registration
// with the plan kept.
func (p *Pages) plans(w http.ResponseWriter, r *http.Request) {
	var ps billing.Plans
	if err := p.call(r, p.caller(r), tools.ToolListPlans, struct{}{}, &ps); err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "plans", view{Title: "Plans", Nav: "plans", Data: plansView{Plans: ps.Plans,
		Comparison: ps.Comparison, Annual: r.URL.Query().Get("interval") == "annual"}})
}

// notFound answers the not-found page.
func (p *Pages) notFound(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Data: "There is no such page."})
}
