package web

import (
	"net/http"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/tools"
)

// dashboardView is the dashboard's data: the person's pods, what they
// used and cost this month, and the providers' health.
type dashboardView struct {
	Pods      tools.PodList
	Usage     billing.Rollup
	Providers tools.ProviderList
}

// dashboard is the signed-in person's home (R9): their pods with their
// state, kept live over the WebSocket, this month's usage and cost, and
// the providers' health.
func (p *Pages) dashboard(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	var v dashboardView
	for _, c := range []struct {
		tool string
		in   any
		out  any
	}{
		{tools.ToolListPods, tools.ListPodsInput{Limit: 100}, &v.Pods},
		{tools.ToolUsageSummary, tools.UsageInput{}, &v.Usage},
		{tools.ToolProviderHealth, tools.ProviderHealthInput{}, &v.Providers},
	} {
		if err := p.call(r, s.actor, c.tool, c.in, c.out); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.render(w, r, http.StatusOK, "dashboard", view{Title: "Dashboard", Nav: "dashboard", Data: v})
}
