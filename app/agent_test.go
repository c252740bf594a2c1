package app

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// goal is what the agent is asked in these tests: one A100 within $10 an
// hour, which the builtin planner reaches by listing pods and offers,
// configuring a draft and deploying it.
const goal = "keep 1 × A100-SXM-80GB running below $10/h"

// seededAdmin is the seeded POD Admin as an actor, and a second admin to
// decide what the agent asks for.
func seededAdmin(ctx context.Context, t *testing.T, a *App) actor.Actor {
	t.Helper()
	u, err := a.Store.UserByEmail(ctx, AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	return actor.Actor{Kind: actor.KindUser, ID: u.ID, TenantID: u.TenantID, Role: actor.RolePodAdmin}
}

func callAs(ctx context.Context, t *testing.T, a *App, who actor.Actor, tool, input string) tools.Result {
	t.Helper()
	return a.Tools.Call(ctx, tools.Request{Actor: who, Face: audit.FaceREST, Tool: tool, Input: []byte(input)})
}

func decisionsOf(ctx context.Context, t *testing.T, a *App, who actor.Actor, input string) []decision.Decision {
	t.Helper()
	res := callAs(ctx, t, a, who, tools.ToolListDecisions, input)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.Output.(tools.DecisionList).Decisions
}

// byTool is the newest decision of tool in list.
func byTool(t *testing.T, list []decision.Decision, tool string) decision.Decision {
	t.Helper()
	for _, d := range list {
		if d.Tool == tool {
			return d
		}
	}
	t.Fatalf("no %s decision in %d", tool, len(list))
	return decision.Decision{}
}

// TestTheAgentsDeployWaitsIsApprovedRevertedAndReplayed walks a decision's
// life through the tools: the agent, asked by an admin, reads, configures
// and deploys; the deploy costs more than agent.approval_above_usd, so it
// waits as a held call; an admin approves it once (twice is a conflict),
// it runs as the agent and the pod deploys; an override reverts it with
// its compensating call; a replay of the configure step reproduces it.
// Every step is in the audit log under face agent, and every status
// change reached the agent topic.
func TestTheAgentsDeployWaitsIsApprovedRevertedAndReplayed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	setGlobal(ctx, t, a, "agent.approval", "above_cost", "agent.approval_above_usd", "1")
	admin := seededAdmin(ctx, t, a)
	ops := actor.Actor{Kind: actor.KindUser, ID: "u-ops", TenantID: admin.TenantID, Role: actor.RolePodAdmin}

	res := callAs(ctx, t, a, admin, tools.ToolSendAgentMessage, `{"message":"`+goal+`"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	reply := res.Output.(tools.AgentReply)
	if reply.Outcome == nil || reply.Outcome.Ending != "responded" || !strings.Contains(reply.Outcome.Response, "1 deployed") {
		t.Fatalf("the task: %+v", reply.Outcome)
	}

	list := decisionsOf(ctx, t, a, admin, `{}`)
	if len(list) != 2 {
		t.Fatalf("decisions that change something: %+v", list)
	}
	configured, deploy := byTool(t, list, tools.ToolConfigurePod), byTool(t, list, tools.ToolDeployPod)
	if configured.Status != decision.StatusExecuted || configured.DecidedBy != decision.DecidedByPolicy || configured.Preview.Effect == "" {
		t.Fatalf("configure: %+v", configured)
	}
	if deploy.Status != decision.StatusAwaitingApproval || deploy.ApprovalID == "" || deploy.Preview.Cost <= 0 ||
		deploy.Verdict.Rule != "approval" || deploy.TaskID != reply.Outcome.Task || len(deploy.Thoughts) == 0 {
		t.Fatalf("deploy: %+v", deploy)
	}
	if reads := decisionsOf(ctx, t, a, admin, `{"reads":true}`); len(reads) != 4 || !byTool(t, reads, tools.ToolListOffers).ReadOnly {
		t.Fatalf("with reads: %d", len(reads))
	}

	// A plain user neither sees nor reaches the agent's tools.
	user := actor.Actor{Kind: actor.KindUser, ID: "u-plain", TenantID: admin.TenantID, Role: actor.RoleUser}
	if res := callAs(ctx, t, a, user, tools.ToolApproveDecision, `{"id":"`+deploy.ID+`"}`); res.Verdict.Rule != policies.RuleRole {
		t.Fatalf("a user approving: %+v", res)
	}
	for _, m := range a.Tools.Visible(user) {
		if m.Group == tools.ToolsetAgent {
			t.Fatalf("a user sees %s", m.Name)
		}
	}

	res = callAs(ctx, t, a, ops, tools.ToolApproveDecision, `{"id":"`+deploy.ID+`","note":"within the month's plan"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	approved := res.Output.(decision.Decision)
	var deployed tools.Deployment
	if approved.Status != decision.StatusExecuted || approved.DecidedBy != ops.ID || json.Unmarshal(approved.Result, &deployed) != nil ||
		deployed.Pod.ID == "" {
		t.Fatalf("approved: %+v", approved)
	}
	if res := callAs(ctx, t, a, ops, tools.ToolApproveDecision, `{"id":"`+deploy.ID+`"}`); fault.KindOf(res.Err) != fault.KindConflict {
		t.Fatalf("approving twice: %+v", res)
	}

	res = callAs(ctx, t, a, ops, tools.ToolOverrideDecision, `{"id":"`+deploy.ID+`","reason":"not today"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	over := res.Output.(tools.Override)
	if over.Decision.Status != decision.StatusReverted || over.Revert == nil || over.Revert.Tool != tools.ToolTerminatePod ||
		over.Revert.Reverts != deploy.ID || over.Decision.RevertedBy != over.Revert.ID || over.Revert.Status != decision.StatusExecuted {
		t.Fatalf("revert: %+v", over)
	}
	p, err := a.Pods.Get(ctx, admin.TenantID, deployed.Pod.ID)
	if err != nil || (p.State != pods.Terminating && p.State != pods.Terminated) {
		t.Fatalf("the reverted pod: %s %v", p.State, err)
	}

	res = callAs(ctx, t, a, admin, tools.ToolReplayDecision, `{"id":"`+configured.ID+`"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if rp := res.Output.(tools.Replay); !rp.SameCall || rp.Tool != tools.ToolConfigurePod || !rp.SameVerdict || rp.WouldWait {
		t.Fatalf("replay: %+v", rp)
	}
	res = callAs(ctx, t, a, admin, tools.ToolReplayDecision, `{"id":"`+deploy.ID+`"}`)
	if rp, _ := res.Output.(tools.Replay); res.Err != nil || !rp.SameCall || rp.SameVerdict || len(rp.Differences) == 0 {
		t.Fatalf("replay of the deploy, whose draft is gone: %+v %v", rp, res.Err)
	}

	// The agent's own calls are audited as the agent, the held deploy
	// with the admin who approved it.
	a.Audit.Flush()
	recs, err := a.Store.QueryAudit(ctx, audit.Filter{TenantID: admin.TenantID, Action: tools.ToolDeployPod})
	if err != nil {
		t.Fatal(err)
	}
	var held, ran bool
	for _, r := range recs {
		if r.Face != audit.FaceAgent || r.Actor.Kind != actor.KindAgent {
			continue
		}
		held = held || (r.ApprovalID == deploy.ApprovalID && r.ApprovedBy == "")
		ran = ran || (r.ApprovalID == deploy.ApprovalID && r.ApprovedBy == ops.String() && r.Error == "")
	}
	if !held || !ran {
		t.Fatalf("deploy audit (held %v, ran %v): %+v", held, ran, recs)
	}

	// Every status change reached the agent topic, keyed by tenant.
	want := map[string]bool{}
	for _, s := range []decision.Status{decision.StatusProposed, decision.StatusAwaitingApproval, decision.StatusApproved,
		decision.StatusExecuted, decision.StatusReverted} {
		want[deploy.ID+" "+string(decision.EventFor(s))] = true
	}
	awaitDecisionEvents(ctx, t, a.stream.cluster.ListenAddrs(), want)
}

// awaitDecisionEvents reads the agent topic until every "decision type"
// in want arrived.
func awaitDecisionEvents(ctx context.Context, t *testing.T, brokers []string, want map[string]bool) {
	t.Helper()
	c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("gpubroker.agent"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for len(want) > 0 {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("never arrived: %v", want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			var ce events.CloudEvent
			var m decision.Moved
			if json.Unmarshal(r.Value, &ce) == nil && json.Unmarshal(ce.Data, &m) == nil && string(r.Key) == ce.Tenant {
				delete(want, m.Decision.ID+" "+string(ce.Type))
			}
		})
	}
}

// TestTheAgentsBudgetRefusesWhatItCannotAfford: with a limit per action
// below the deploy's reservation, the deploy is refused by the budget
// rule: a rejected decision whose reason the agent read, and nothing
// deployed.
func TestTheAgentsBudgetRefusesWhatItCannotAfford(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	setGlobal(ctx, t, a, "agent.approval", "never")
	admin := seededAdmin(ctx, t, a)
	res := callAs(ctx, t, a, admin, tools.ToolSetAgentBudget, `{"per_action_usd":"0.5","per_month_usd":"100","confirm":"default"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res = callAs(ctx, t, a, admin, tools.ToolSendAgentMessage, `{"message":"`+goal+`"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	deploy := byTool(t, decisionsOf(ctx, t, a, admin, `{}`), tools.ToolDeployPod)
	if deploy.Status != decision.StatusRejected || deploy.Verdict.Rule != "budget" || !strings.Contains(deploy.Error, "per action") {
		t.Fatalf("deploy over the budget: %+v", deploy)
	}
	res = callAs(ctx, t, a, admin, tools.ToolAgentStatus, `{}`)
	st := res.Output.(tools.AgentStatus)
	if res.Err != nil || st.Budget.PerAction != money.MustParse("0.5") || st.SpentMonth != 0 || st.LastRun == nil || st.Planner != "builtin" {
		t.Fatalf("status: budget %+v, spent %s, last run %+v, planner %s: %v", st.Budget, st.SpentMonth, st.LastRun, st.Planner, res.Err)
	}
}

// TestTheAgentRunsOnItsOwnAndStreamsItsSteps: start_agent runs a task at
// once on its goals; its steps reach a POD Admin following
// /api/v1/agent/stream, a plain user is refused the stream, and
// stop_agent ends the runs.
func TestTheAgentRunsOnItsOwnAndStreamsItsSteps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	setGlobal(ctx, t, a, "agent.approval", "never")
	admin := seededAdmin(ctx, t, a)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	_, tok, err := a.Identity.CreateAPIToken(ctx, admin, admin.TenantID, actor.RolePodAdmin, "console", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/agent/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()

	res := callAs(ctx, t, a, admin, tools.ToolStartAgent, `{"goals":["`+goal+`"],"interval":"1h"}`)
	if res.Err != nil || !res.Output.(tools.AgentState).Running {
		t.Fatalf("start: %+v", res)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !seen["end"] {
		if kind, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			seen[kind] = true
		}
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(data, `"tool":"deploy_pod"`) {
			seen["deploy"] = true
		}
	}
	if !seen["start"] || !seen["step"] || !seen["deploy"] || !seen["end"] {
		t.Fatalf("streamed: %v (%v)", seen, sc.Err())
	}
	res = callAs(ctx, t, a, admin, tools.ToolStopAgent, `{}`)
	if res.Err != nil || res.Output.(tools.AgentState).Running {
		t.Fatalf("stop: %+v", res)
	}

	_, utok, err := a.Identity.CreateAPIToken(ctx, admin, admin.TenantID, actor.RoleUser, "viewer", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/agent/stream", nil)
	req.Header.Set("Authorization", "Bearer "+utok)
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a user's stream: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestDecisionsMadeWhileKafkaIsDownAreAllPublishedOnceItReturns: the
// agent decides while every write to Kafka fails; each decision and its
// events are committed all the same, and once the broker is back every
// status change reaches the agent topic.
func TestDecisionsMadeWhileKafkaIsDownAreAllPublishedOnceItReturns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, down := withKafkaDown(ctx, t)
	openFreePlan(ctx, t, a)
	setGlobal(ctx, t, a, "agent.approval", "never")
	admin := seededAdmin(ctx, t, a)
	res := callAs(ctx, t, a, admin, tools.ToolSendAgentMessage, `{"message":"`+goal+`"}`)
	if res.Err != nil || res.Output.(tools.AgentReply).Outcome.Ending != "responded" {
		t.Fatalf("the task: %+v", res)
	}
	all := decisionsOf(ctx, t, a, admin, `{"reads":true}`)
	if len(all) != 4 {
		t.Fatalf("%d decisions", len(all))
	}
	want := map[string]bool{}
	for _, d := range all {
		if d.Status != decision.StatusExecuted {
			t.Fatalf("%s is %s", d.Tool, d.Status)
		}
		want[d.ID+" "+string(decision.EventDecisionExecuted)] = true
		if !d.ReadOnly {
			want[d.ID+" "+string(decision.EventDecisionProposed)] = true
			want[d.ID+" "+string(decision.EventDecisionApproved)] = true
		}
	}
	pending, err := a.Store.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, e := range pending {
		if strings.HasPrefix(string(e.Type), "agent.decision_") {
			held++
		}
	}
	if held != len(want) {
		t.Fatalf("%d decision events wait in the outbox while Kafka is down, want %d", held, len(want))
	}
	down.Store(false)
	awaitDecisionEvents(ctx, t, strings.Split(a.cfg.KafkaBrokers, ","), want)
}
