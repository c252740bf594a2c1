package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tools"
)

// agentView is the agent dashboard's data: the agent's status, the forms
// that start it and set its budget as entered, and what its budget chart
// draws.
type agentView struct {
	Status tools.AgentStatus
	Start  form
	Budget form
	// Confirm is the phrase a budget LIVE reads asks to be typed.
	Confirm string
	// Chart is the spend against the limits, in micro-dollars.
	Chart budgetChart
}

// budgetChart is the agent's spend today and this month beside its
// limits, for the budget chart.
type budgetChart struct {
	Labels []string `json:"labels"`
	Spent  []int64  `json:"spent"`
	Limit  []int64  `json:"limit"`
}

var budgetFields = []string{"per_action_usd", "per_day_usd", "per_month_usd"}

// adminAgent is the agent's dashboard (R14): whether it runs and on what,
// its model, its spend against its budget, the conversation with its
// steps streamed live, and its latest decisions.
func (p *Pages) adminAgent(w http.ResponseWriter, r *http.Request) {
	v := agentView{Start: form{Values: map[string]string{"interval": "15m"}, Errors: map[string]string{}},
		Budget: form{Values: map[string]string{}, Errors: map[string]string{}}}
	p.showAgent(w, r, http.StatusOK, v)
}

func (p *Pages) showAgent(w http.ResponseWriter, r *http.Request, status int, v agentView) {
	s, _ := user(r)
	if err := p.call(r, s.actor, tools.ToolAgentStatus, struct{}{}, &v.Status); err != nil {
		p.fail(w, r, err)
		return
	}
	st := v.Status
	if len(st.Goals) > 0 && v.Start.Values["goals"] == "" {
		v.Start.Values["goals"] = strings.Join(st.Goals, "\n")
		v.Start.Values["interval"] = st.Interval
	}
	for k, a := range map[string]money.Amount{"per_action_usd": st.Budget.PerAction, "per_day_usd": st.Budget.PerDay, "per_month_usd": st.Budget.PerMonth} {
		if _, entered := v.Budget.Values[k]; !entered {
			v.Budget.Values[k] = a.Decimal()
		}
	}
	v.Chart = budgetChart{Labels: []string{"Today", "This month"}, Spent: []int64{st.SpentToday.Micros(), st.SpentMonth.Micros()},
		Limit: []int64{st.Budget.PerDay.Micros(), st.Budget.PerMonth.Micros()}}
	p.renderAdmin(w, r, status, "agent", "The agent", "agent", v)
}

// adminAgentStart runs the agent on its own with the goals entered, one
// a line, every interval. The page's script asks as JSON and stays, so
// the first run's steps and decisions arrive on the open page.
func (p *Pages) adminAgentStart(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, "goals", "interval")
	var goals []string
	for _, g := range strings.Split(f.Values["goals"], "\n") {
		if g = strings.TrimSpace(g); g != "" {
			goals = append(goals, g)
		}
	}
	var st tools.AgentState
	err := p.call(r, s.actor, tools.ToolStartAgent, tools.StartAgentInput{Goals: goals, Interval: f.Values["interval"]}, &st)
	jsonAsked := wantsJSON(r)
	switch {
	case err == nil && jsonAsked:
		writeJSON(w, http.StatusOK, st)
		return
	case err == nil:
		http.Redirect(w, r, "/admin/agent", http.StatusSeeOther)
		return
	case !refusedHere(err):
		p.fail(w, r, err)
		return
	}
	f.refuse(err)
	for k, m := range f.Errors {
		if strings.HasPrefix(k, "goals[") {
			f.Errors["goals"] = m
		}
	}
	if jsonAsked {
		writeJSON(w, refusalStatus(err), map[string]any{"error": f.Error, "errors": f.Errors})
		return
	}
	p.showAgent(w, r, refusalStatus(err), agentView{Start: f, Budget: form{Values: map[string]string{}, Errors: map[string]string{}}})
}

// adminAgentStop stops the agent's autonomous runs.
func (p *Pages) adminAgentStop(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	var st tools.AgentState
	if err := p.call(r, s.actor, tools.ToolStopAgent, tools.StopAgentInput{}, &st); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/agent", http.StatusSeeOther)
}

// adminAgentBudget sets the agent's limits per action, day and month; a
// value LIVE reads asks for the tenant's id typed as confirmation, and
// nothing is saved without it.
func (p *Pages) adminAgentBudget(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, append(budgetFields, "confirm")...)
	in := map[string]any{}
	for _, k := range budgetFields {
		if v := f.Values[k]; v != "" {
			in[k] = v
		}
	}
	if c := f.Values["confirm"]; c != "" {
		in["confirm"] = c
	}
	var out json.RawMessage
	err := p.call(r, s.actor, tools.ToolSetAgentBudget, in, &out)
	if err == nil {
		http.Redirect(w, r, "/admin/agent#budget", http.StatusSeeOther)
		return
	}
	v := agentView{Start: form{Values: map[string]string{}, Errors: map[string]string{}}, Budget: f}
	if fe, ok := fault.As(err); ok && fe.Kind == fault.KindNeedsConfirmation {
		v.Confirm = fe.Confirm
		f.Errors["confirm"] = "Type " + fe.Confirm + " to confirm: " + fe.Message
		p.showAgent(w, r, http.StatusConflict, v)
		return
	}
	if !refusedHere(err) {
		p.fail(w, r, err)
		return
	}
	v.Budget.refuse(err)
	p.showAgent(w, r, refusalStatus(err), v)
}

// adminAgentMessage gives the agent a message: a task when it is idle,
// an intervention while it works. A script on the page asks as JSON and
// follows the steps on the stream; without it the form goes back to the
// dashboard.
func (p *Pages) adminAgentMessage(w http.ResponseWriter, r *http.Request) {
	jsonAsked := wantsJSON(r)
	s, _ := user(r)
	var reply tools.AgentReply
	err := p.call(r, s.actor, tools.ToolSendAgentMessage, tools.SendAgentMessageInput{Message: r.FormValue("message"), Background: true}, &reply)
	switch {
	case jsonAsked && err != nil:
		status := http.StatusInternalServerError
		msg := "the message could not be sent; try again in a moment"
		if refusedHere(err) || fault.KindOf(err) == fault.KindUnavailable {
			status, msg = refusalStatus(err), refusalText(err)
		}
		writeJSON(w, status, map[string]string{"error": msg})
	case jsonAsked:
		writeJSON(w, http.StatusAccepted, reply)
	case err != nil:
		p.fail(w, r, err)
	default:
		http.Redirect(w, r, "/admin/agent", http.StatusSeeOther)
	}
}

// decisionsView is the decisions list's data: the filters as entered and
// one page of decisions.
type decisionsView struct {
	Form      form
	Statuses  []decision.Status
	Decisions []decision.Decision
	Next      string
}

// adminDecisions lists the agent's decisions, newest first, filtered by
// status, tool and cost; new ones and moves arrive live (agent channel).
func (p *Pages) adminDecisions(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	v := decisionsView{Form: newForm(r, "status", "tool", "min_cost_usd"), Statuses: decision.Statuses}
	in := map[string]any{"limit": 50}
	for k, val := range v.Form.Values {
		if val != "" {
			in[k] = val
		}
	}
	if a := r.FormValue("after"); a != "" {
		in["after"] = a
	}
	status := http.StatusOK
	var list tools.DecisionList
	if err := p.call(r, s.actor, tools.ToolListDecisions, in, &list); err != nil {
		if !badInput(err) {
			p.fail(w, r, err)
			return
		}
		v.Form.refuse(err)
		status = http.StatusBadRequest
	}
	v.Decisions = list.Decisions
	if list.Next != "" {
		q := url.Values{"after": {list.Next}}
		for k, val := range v.Form.Values {
			if val != "" {
				q.Set(k, val)
			}
		}
		v.Next = "/admin/decisions?" + q.Encode()
	}
	p.renderAdmin(w, r, status, "decisions", "Decisions", "decisions", v)
}

// decisionView is one decision's page: the decision, its replay when
// asked for, and why the last action on it was refused.
type decisionView struct {
	Decision decision.Decision
	// Delivery is where its news went (Kafka, Slack); nil when unknown.
	Delivery *decision.Delivery
	Replay   *tools.Replay
	// Names are the tenant's people by id (who decided, whom the agent
	// acts for), as the page names them.
	Names map[string]string
	// Args is the call's arguments, indented for reading and editing.
	Args  string
	Error string
}

// adminDecision shows one decision: the agent's reasoning, the call and
// its dry-run preview, the verdict, who decided and what became of it,
// with Approve, Reject and Override while it waits, Revert after it ran,
// and Replay (?replay=1) beside the recording.
func (p *Pages) adminDecision(w http.ResponseWriter, r *http.Request) {
	p.showDecision(w, r, http.StatusOK, "")
}

func (p *Pages) showDecision(w http.ResponseWriter, r *http.Request, status int, refusal string) {
	s, _ := user(r)
	v := decisionView{Error: refusal}
	ref := tools.DecisionRef{ID: chi.URLParam(r, "id")}
	if err := p.call(r, s.actor, tools.ToolGetDecision, ref, &v.Decision); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Args = indent(v.Decision.Args)
	var people tools.UserList
	if err := p.call(r, s.actor, tools.ToolListUsers, struct{}{}, &people); err == nil {
		v.Names = map[string]string{}
		for _, u := range people.Users {
			v.Names[u.ID] = u.Email
		}
	}
	var dl decision.Delivery
	if err := p.call(r, s.actor, tools.ToolDecisionDelivery, ref, &dl); err == nil {
		v.Delivery = &dl
	} else if fault.KindOf(err) != fault.KindUnavailable {
		p.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("replay") != "" {
		var rp tools.Replay
		if err := p.call(r, s.actor, tools.ToolReplayDecision, ref, &rp); err != nil {
			if !refusedHere(err) {
				p.fail(w, r, err)
				return
			}
			v.Error = refusalText(err)
		} else {
			v.Replay = &rp
		}
	}
	p.renderAdmin(w, r, status, "decision", "Decision "+v.Decision.ID, "decisions", v)
}

// decideTools are the actions the decision page's forms take.
var decideTools = map[string]string{"approve": tools.ToolApproveDecision, "reject": tools.ToolRejectDecision,
	"override": tools.ToolOverrideDecision}

// adminDecide approves, rejects or overrides (replaces before it ran,
// reverts after) a decision, as the Slack buttons do. A decision decided
// meanwhile (in Slack, by another admin) is refused and its page shows
// what it is now: nothing runs twice.
func (p *Pages) adminDecide(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	tool, ok := decideTools[chi.URLParam(r, "action")]
	if !ok {
		p.notFound(w, r)
		return
	}
	id := chi.URLParam(r, "id")
	in := map[string]any{"id": id}
	if note := strings.TrimSpace(r.PostFormValue("note")); note != "" {
		in["note"] = note
	}
	if tool == tools.ToolOverrideDecision {
		if reason := strings.TrimSpace(r.PostFormValue("reason")); reason != "" {
			in["reason"] = reason
		}
		if t := strings.TrimSpace(r.PostFormValue("tool")); t != "" {
			in["tool"] = t
		}
		if a := strings.TrimSpace(r.PostFormValue("args")); a != "" {
			if !json.Valid([]byte(a)) {
				p.showDecision(w, r, http.StatusUnprocessableEntity, "The arguments are not JSON: write them as an object, like {\"gpu_count\": 2}.")
				return
			}
			in["args"] = json.RawMessage(a)
		}
	}
	var out json.RawMessage
	if err := p.call(r, s.actor, tool, in, &out); err != nil {
		if !refusedHere(err) {
			p.fail(w, r, err)
			return
		}
		p.showDecision(w, r, refusalStatus(err), refusalText(err))
		return
	}
	http.Redirect(w, r, "/admin/decisions/"+url.PathEscape(id), http.StatusSeeOther)
}

// indent is JSON indented for people, or as it is when it is not JSON.
func indent(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
