package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gpubroker/pod/tools"
)

// healthWindows are the windows the health page offers, in hours.
var healthWindows = []int{1, 24, 168, 720}

// healthView is the system health page's data: the providers' health in
// the tenant's mode, and what the event stream, Slack and the payment
// webhooks have behind them in the window chosen.
type healthView struct {
	Form      form
	Windows   []int
	Providers []providerRow
	Mode      string
	System    tools.SystemHealth
}

// providerRow is one provider as the health table shows it.
type providerRow struct {
	tools.ProviderStatus
	Latency   string
	ErrorRate string
}

// adminHealth shows what an admin needs when something is stuck: each
// provider's breaker, latency and error rate; the event stream's backlog;
// the decisions Slack has and has not shown; the payment webhooks
// received, processed and waiting.
func (p *Pages) adminHealth(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	v := healthView{Form: newForm(r, "hours"), Windows: healthWindows}
	status := http.StatusOK
	in := map[string]any{}
	if h := v.Form.Values["hours"]; h != "" {
		n, err := strconv.Atoi(h)
		if err != nil {
			v.Form.Errors["hours"] = "want a whole number of hours, such as 24"
			status = http.StatusBadRequest
		}
		in["hours"] = n
	} else {
		v.Form.Values["hours"] = "24"
	}
	if status == http.StatusOK {
		if err := p.call(r, s.actor, tools.ToolSystemHealth, in, &v.System); err != nil {
			if !badInput(err) {
				p.fail(w, r, err)
				return
			}
			v.Form.refuse(err)
			status = http.StatusBadRequest
		}
	}
	var providers tools.ProviderList
	if err := p.call(r, s.actor, tools.ToolProviderHealth, struct{}{}, &providers); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Mode = string(providers.Mode)
	for _, pr := range providers.Providers {
		row := providerRow{ProviderStatus: pr, Latency: "—", ErrorRate: "—"}
		if pr.Calls > 0 {
			row.Latency = fmt.Sprintf("%.0f ms", pr.LatencyMS)
			if pr.LatencyMS < 10 {
				row.Latency = fmt.Sprintf("%.1f ms", pr.LatencyMS)
			}
			row.ErrorRate = fmt.Sprintf("%.1f %%", pr.ErrorRate*100)
		}
		v.Providers = append(v.Providers, row)
	}
	p.renderAdmin(w, r, status, "health", "System health", "health", v)
}
