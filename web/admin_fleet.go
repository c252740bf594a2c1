package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// fleetView is the fleet page's data: the fleet now and over the hours
// shown, and what its chart draws.
type fleetView struct {
	Fleet pods.Utilization
	Hours int
	Chart fleetChart
}

// fleetChart is the fleet's hours for the chart: per hour (unix seconds)
// the GPUs that ran and what running cost, by provider, in micro-dollars.
type fleetChart struct {
	T         []int64   `json:"t"`
	GPUs      []int     `json:"gpus"`
	Providers []string  `json:"providers"`
	Spend     [][]int64 `json:"spend"`
}

// fleetRanges are the spans the fleet page offers, in hours.
var fleetRanges = []int{24, 168, 720}

// adminFleet shows the tenant's resource utilization across providers
// (R14.6): pods, GPUs and spend per hour by provider now, and the spend
// by provider and the GPUs over the last day, week or month as a chart.
func (p *Pages) adminFleet(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	hours := 24
	if h := r.URL.Query().Get("hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || !slices.Contains(fleetRanges, n) {
			p.badRequest(w, r, "Show the fleet over 24, 168 or 720 hours.")
			return
		}
		hours = n
	}
	v := fleetView{Hours: hours}
	if err := p.call(r, s.actor, tools.ToolFleetUtilization, tools.FleetInput{Hours: hours}, &v.Fleet); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Chart = chartFleet(v.Fleet)
	p.renderAdmin(w, r, http.StatusOK, "fleet", "Fleet", "fleet", v)
}

// chartFleet lays the fleet's hours out for the chart: one spend series
// per provider that ran in any of them.
func chartFleet(u pods.Utilization) fleetChart {
	var c fleetChart
	index := map[string]int{}
	for _, h := range u.Series {
		for _, ph := range h.ByProvider {
			if _, ok := index[ph.Provider]; !ok {
				index[ph.Provider] = len(c.Providers)
				c.Providers = append(c.Providers, ph.Provider)
			}
		}
	}
	c.Spend = make([][]int64, len(c.Providers))
	for i := range c.Spend {
		c.Spend[i] = make([]int64, len(u.Series))
	}
	for j, h := range u.Series {
		c.T = append(c.T, h.Hour.Unix())
		c.GPUs = append(c.GPUs, h.GPUs)
		for _, ph := range h.ByProvider {
			c.Spend[index[ph.Provider]][j] = ph.Spend.Micros()
		}
	}
	return c
}
