package web

import (
	"net/http"
	"slices"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// dashboardView is the dashboard's data: the person's pods, what they
// used and cost this month, and the providers' health.
type dashboardView struct {
	Pods      tools.PodList
	Usage     billing.Rollup
	Providers tools.ProviderList
	// Activity is the latest moves of the person's pods, newest first.
	Activity []activity
}

// activity is one move of a pod, named.
type activity struct {
	pods.Transition
	Pod string
}

// activityPods is how many recently changed pods the activity is read from,
// and how many moves it shows.
const activityPods, activityShown = 5, 8

// dashboard is the signed-in person's home (R9): their pods with their
// state, kept live over the WebSocket, and the quick actions on each;
// this month's usage and cost; the latest moves of their pods; the
// providers' health.
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
	recent := slices.Clone(v.Pods.Pods)
	slices.SortFunc(recent, func(a, b pods.Pod) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	for _, pod := range recent[:min(activityPods, len(recent))] {
		var h tools.PodHistory
		if err := p.call(r, s.actor, tools.ToolPodEvents, tools.PodRef{ID: pod.ID}, &h); err != nil {
			p.fail(w, r, err)
			return
		}
		for _, e := range h.Events {
			v.Activity = append(v.Activity, activity{Transition: e, Pod: pod.Name})
		}
	}
	slices.SortFunc(v.Activity, func(a, b activity) int { return b.At.Compare(a.At) })
	v.Activity = v.Activity[:min(activityShown, len(v.Activity))]
	p.render(w, r, http.StatusOK, "dashboard", view{Title: "Dashboard", Nav: "dashboard", Data: v})
}
