package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
)

// Tool names of the agent toolset: the decisions of the procurement agent
// and its control. POD Admins only.
const (
	ToolListDecisions    = "list_decisions"
	ToolGetDecision      = "get_decision"
	ToolApproveDecision  = "approve_decision"
	ToolRejectDecision   = "reject_decision"
	ToolOverrideDecision = "override_decision"
	ToolReplayDecision   = "replay_decision"
	ToolDecisionDelivery = "decision_delivery"
	ToolAgentStatus      = "agent_status"
	ToolStartAgent       = "start_agent"
	ToolStopAgent        = "stop_agent"
	ToolSetAgentBudget   = "set_agent_budget"
	ToolSendAgentMessage = "send_agent_message"
)

// Agents runs the procurement agent of each tenant; the agent face
// implements it.
type Agents interface {
	// State is the tenant's agent now.
	State(tenantID string) AgentState
	// Start runs the agent on its own for the tenant: every interval a
	// task pursues the goals, as the admin who started it.
	Start(ctx context.Context, admin actor.Actor, goals []string, interval time.Duration) (AgentState, error)
	// Stop ends the autonomous runs (a task under way finishes its step).
	Stop(ctx context.Context, tenantID string) (AgentState, error)
	// Send gives the agent a message from admin: a task, or an
	// intervention in the task running. wait answers the task's outcome.
	Send(ctx context.Context, admin actor.Actor, message string, wait bool) (AgentReply, error)
	// Told hands the agent what became of a decision it waited for.
	Told(d decision.Decision)
	// ReadReply reads a recorded model reply as the loop does: the tool
	// and the arguments it asks for.
	ReadReply(raw string) (tool string, args json.RawMessage, err error)
}

// AgentState is what the agent of a tenant is doing.
type AgentState struct {
	Running   bool          `json:"running"`
	Goals     []string      `json:"goals,omitempty"`
	Interval  string        `json:"interval,omitempty"`
	AdminID   string        `json:"admin_id,omitempty"`
	StartedAt *time.Time    `json:"started_at,omitempty"`
	Busy      bool          `json:"busy"`
	Task      string        `json:"task,omitempty"`
	Planner   string        `json:"planner"`
	LastRun   *AgentOutcome `json:"last_run,omitempty"`
}

// AgentOutcome is how a task of the agent ended.
type AgentOutcome struct {
	Task       string       `json:"task"`
	Ending     string       `json:"ending"`
	Response   string       `json:"response"`
	Iterations int          `json:"iterations"`
	Tokens     int          `json:"tokens"`
	Cost       money.Amount `json:"model_cost_usd"`
	EndedAt    time.Time    `json:"ended_at"`
}

// AgentReply is the answer to a message: taken as an intervention, started
// in the background, or the task's outcome.
type AgentReply struct {
	Intervention bool          `json:"intervention"`
	Task         string        `json:"task,omitempty"`
	Outcome      *AgentOutcome `json:"outcome,omitempty"`
}

// AgentServices are what the agent toolset calls.
type AgentServices struct {
	Decisions *decision.Service
	// Agents is nil on an instance that runs no agent: its control tools
	// then answer that the agent is not available.
	Agents Agents
	Params *params.Service
	Budget budget.Ledger
	// Deliveries reads where a decision's news went (Kafka, Slack).
	Deliveries decision.Deliveries
}

// RegisterAgent registers the agent toolset.
func RegisterAgent(r *Registry, s AgentServices) {
	registerToolset(r, ToolsetAgent, listDecisions(s), getDecision(s), approveDecision(r, s), rejectDecision(r, s), overrideDecision(r, s),
		replayDecision(r, s), decisionDelivery(s), agentStatus(r, s), startAgent(s), stopAgent(s), setAgentBudget(s), sendAgentMessage(s))
}

func (s AgentServices) agents() (Agents, error) {
	if s.Agents == nil {
		return nil, fault.Unavailable("the agent does not run on this platform instance")
	}
	return s.Agents, nil
}

// DecisionRef names one decision of the caller's tenant.
type DecisionRef struct {
	ID string `json:"id" jsonschema:"the decision id (dec_…)"`
}

// Validate implements Validator.
func (in *DecisionRef) Validate() error {
	if !strings.HasPrefix(in.ID, "dec_") {
		return fault.Invalid("id", "want a decision id (dec_…), got %q", in.ID)
	}
	return nil
}

// ListDecisionsInput is the input of list_decisions.
type ListDecisionsInput struct {
	Status  decision.Status `json:"status,omitempty" jsonschema:"only decisions in this status"`
	Tool    string          `json:"tool,omitempty" jsonschema:"only calls of this tool"`
	Task    string          `json:"task,omitempty" jsonschema:"only decisions of this task"`
	MinCost money.Amount    `json:"min_cost_usd,omitempty" jsonschema:"only decisions whose preview costs at least this many USD"`
	Reads   bool            `json:"reads,omitempty" jsonschema:"include the agent's reads (list_offers…), left out by default"`
	After   string          `json:"after,omitempty" jsonschema:"the last id of the previous page"`
	Limit   int             `json:"limit,omitempty" jsonschema:"at most this many (default 50, max 500)"`
}

// Validate implements Validator.
func (in *ListDecisionsInput) Validate() error {
	switch {
	case in.Status != "" && !in.Status.Valid():
		return fault.Invalid("status", "want one of %v, got %q", decision.Statuses, in.Status)
	case in.Limit < 0 || in.Limit > 500:
		return fault.Invalid("limit", "want 0 to 500, got %d", in.Limit)
	case in.MinCost < 0:
		return fault.Invalid("min_cost_usd", "cannot be negative")
	}
	return nil
}

// DecisionList is the output of list_decisions.
type DecisionList struct {
	Decisions []decision.Decision `json:"decisions"`
	// Next is the after of the next page; empty on the last.
	Next string `json:"next,omitempty"`
}

func listDecisions(s AgentServices) Def[ListDecisionsInput, DecisionList] {
	return Def[ListDecisionsInput, DecisionList]{
		Name: ToolListDecisions, Title: "List the agent's decisions", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "The procurement agent's decisions in the tenant, newest first: each tool call it made with its reasoning, preview, " +
			"verdict and status (proposed, awaiting_approval, approved, rejected, overridden, executed, failed, reverted). Filter by " +
			"status, tool, task and cost; the agent's reads are left out unless asked for.",
		Method: http.MethodGet, Path: "/agent/decisions",
		Handle: func(ctx context.Context, c *Call, in *ListDecisionsInput) (DecisionList, error) {
			limit := in.Limit
			if limit == 0 {
				limit = 50
			}
			list, err := s.Decisions.List(ctx, decision.Filter{TenantID: c.Tenant.ID, Status: in.Status, Tool: in.Tool, TaskID: in.Task,
				MinCost: in.MinCost, Changes: !in.Reads, After: in.After, Limit: limit})
			if err != nil {
				return DecisionList{}, err
			}
			out := DecisionList{Decisions: make([]decision.Decision, len(list))}
			for i, d := range list {
				d.Reply = ""
				out.Decisions[i] = d
			}
			if len(list) == limit {
				out.Next = list[len(list)-1].ID
			}
			return out, nil
		},
	}
}

func getDecision(s AgentServices) Def[DecisionRef, decision.Decision] {
	return Def[DecisionRef, decision.Decision]{
		Name: ToolGetDecision, Title: "Get a decision", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "One decision of the agent: its reasoning, the call, the dry-run preview, the verdict, who decided it, its result, " +
			"the held call (approval) it waits as, and the model's reply as recorded.",
		Method: http.MethodGet, Path: "/agent/decisions/{id}",
		Handle: func(ctx context.Context, c *Call, in *DecisionRef) (decision.Decision, error) {
			return s.Decisions.Decision(ctx, c.Tenant.ID, in.ID)
		},
	}
}

func decisionDelivery(s AgentServices) Def[DecisionRef, decision.Delivery] {
	return Def[DecisionRef, decision.Delivery]{
		Name: ToolDecisionDelivery, Title: "A decision's delivery", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "Where the news of one decision went: each event of its moves (committed to the outbox, then published to Kafka by the " +
			"relay, or still waiting), and its Slack message (channel, ts and the revision it shows) once posted. Published events leave " +
			"the outbox after events.outbox_retention.",
		Method: http.MethodGet, Path: "/agent/decisions/{id}/delivery",
		Handle: func(ctx context.Context, c *Call, in *DecisionRef) (decision.Delivery, error) {
			if _, err := s.Decisions.Decision(ctx, c.Tenant.ID, in.ID); err != nil {
				return decision.Delivery{}, err
			}
			if s.Deliveries == nil {
				return decision.Delivery{}, fault.Unavailable("delivery is not recorded on this platform instance")
			}
			return s.Deliveries.DecisionDelivery(ctx, c.Tenant.ID, in.ID)
		},
	}
}

// DecideDecisionInput is the input of approve_decision and reject_decision.
type DecideDecisionInput struct {
	DecisionRef
	Control
	Note string `json:"note,omitempty" jsonschema:"why, kept with the decision and its held call"`
}

// move moves a decision as the caller, on the face they came by.
func (s AgentServices) move(ctx context.Context, c *Call, d decision.Decision, to decision.Status, ch decision.Change) (decision.Decision, error) {
	ch.Face = c.Face
	return s.Decisions.Move(ctx, c.Actor, d, to, ch)
}

// waiting reads a decision that waits for an admin, or says what it is.
func (s AgentServices) waiting(ctx context.Context, c *Call, id string) (decision.Decision, error) {
	d, err := s.Decisions.Decision(ctx, c.Tenant.ID, id)
	if err != nil {
		return d, err
	}
	if d.Status != decision.StatusAwaitingApproval || d.ApprovalID == "" {
		return d, fault.Conflict("decision %s is %s: only a decision awaiting approval can be decided", d.ID, d.Status)
	}
	return d, nil
}

func approveDecision(r *Registry, s AgentServices) Def[DecideDecisionInput, decision.Decision] {
	return Def[DecideDecisionInput, decision.Decision]{
		Name: ToolApproveDecision, Title: "Approve a decision", Group: ToolsetAgent, MinRole: actor.RolePodAdmin,
		Description: "Approve a decision of the agent that awaits approval: its held call runs once, as the agent, from the input stored " +
			"when it was made, and the decision becomes executed or failed with the outcome; the agent is told. A decision already " +
			"decided is a conflict.",
		Method: http.MethodPost, Path: "/agent/decisions/{id}/approve",
		Preview: func(ctx context.Context, c *Call, in *DecideDecisionInput) (Preview, error) {
			d, err := s.waiting(ctx, c, in.ID)
			if err != nil {
				return Preview{}, err
			}
			return Preview{Effect: fmt.Sprintf("run the agent's %s call (%s) once", d.Tool, d.Preview.Effect), CostUSD: d.Preview.Cost}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *DecideDecisionInput) (decision.Decision, error) {
			d, err := s.waiting(ctx, c, in.ID)
			if err != nil {
				return d, err
			}
			// The move is the gate: of two admins approving at once, one
			// moves the decision and the other gets a conflict.
			if d, err = s.move(ctx, c, d, decision.StatusApproved, decision.Change{}); err != nil {
				return d, err
			}
			o, err := r.decide(ctx, c, d.ApprovalID, in.Note, true, true)
			return s.finish(ctx, c, d, o, err)
		},
	}
}

// finish moves a decision whose call ran (or could not) to executed or
// failed, and tells the agent.
func (s AgentServices) finish(ctx context.Context, c *Call, d decision.Decision, o ApprovalOutcome, err error) (decision.Decision, error) {
	ch := decision.Change{}
	switch {
	case err != nil:
		ch.Error = err.Error()
	case o.Approval.State == approval.Executed:
		ch.Result = o.Approval.Result
	default:
		ch.Error = o.Approval.Error
		if ch.Error == "" {
			ch.Error = "the held call ended " + string(o.Approval.State)
		}
	}
	to := decision.StatusExecuted
	if ch.Error != "" {
		to = decision.StatusFailed
	}
	// The call ran: its outcome is recorded even if the caller went away.
	out, merr := s.move(context.WithoutCancel(ctx), c, d, to, ch)
	if merr != nil {
		return d, fmt.Errorf("record the outcome of decision %s: %w", d.ID, merr)
	}
	if s.Agents != nil {
		s.Agents.Told(out)
	}
	return out, nil
}

func rejectDecision(r *Registry, s AgentServices) Def[DecideDecisionInput, decision.Decision] {
	return Def[DecideDecisionInput, decision.Decision]{
		Name: ToolRejectDecision, Title: "Reject a decision", Group: ToolsetAgent, MinRole: actor.RolePodAdmin,
		Description: "Reject a decision of the agent that awaits approval: its held call never runs, and the agent is told why (the note).",
		Method:      http.MethodPost, Path: "/agent/decisions/{id}/reject",
		Preview: func(ctx context.Context, c *Call, in *DecideDecisionInput) (Preview, error) {
			d, err := s.waiting(ctx, c, in.ID)
			if err != nil {
				return Preview{}, err
			}
			return Preview{Effect: fmt.Sprintf("reject the agent's %s call; nothing runs", d.Tool)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *DecideDecisionInput) (decision.Decision, error) {
			d, err := s.waiting(ctx, c, in.ID)
			if err != nil {
				return d, err
			}
			why := in.Note
			if why == "" {
				why = "rejected by " + c.Actor.String()
			}
			if d, err = s.move(ctx, c, d, decision.StatusRejected, decision.Change{Error: why}); err != nil {
				return d, err
			}
			if _, err := r.decide(context.WithoutCancel(ctx), c, d.ApprovalID, why, false, true); err != nil && fault.KindOf(err) != fault.KindConflict {
				return d, fmt.Errorf("reject the held call of decision %s: %w", d.ID, err)
			}
			if s.Agents != nil {
				s.Agents.Told(d)
			}
			return d, nil
		},
	}
}

// OverrideDecisionInput is the input of override_decision.
type OverrideDecisionInput struct {
	DecisionRef
	Control
	Tool   string          `json:"tool,omitempty" jsonschema:"before execution: the tool to call instead (the decision's own when empty); after execution leave empty"`
	Args   json.RawMessage `json:"args,omitempty" jsonschema:"before execution: the arguments to call it with"`
	Reason string          `json:"reason,omitempty" jsonschema:"why, kept with the decision"`
}

// Override is the output of override_decision: the decision overridden or
// reverted and, for a revert, the decision of the compensating call.
type Override struct {
	Decision decision.Decision  `json:"decision"`
	Revert   *decision.Decision `json:"revert,omitempty"`
	Result   any                `json:"result,omitempty"`
}

func overrideDecision(r *Registry, s AgentServices) Def[OverrideDecisionInput, Override] {
	return Def[OverrideDecisionInput, Override]{
		Name: ToolOverrideDecision, Title: "Override a decision", Group: ToolsetAgent, MinRole: actor.RolePodAdmin,
		Description: "Before a decision of the agent runs (awaiting approval): run your call instead — the same tool with other arguments, " +
			"or another tool — as yourself, through every policy; the held call is dropped. After it ran (executed): revert it with its " +
			"compensating call (deploy → terminate, stop → start, scale → back, a parameter → its old value), recorded as a decision " +
			"linked to it. Either way the agent is told.",
		Method: http.MethodPost, Path: "/agent/decisions/{id}/override",
		Preview: func(ctx context.Context, c *Call, in *OverrideDecisionInput) (Preview, error) {
			d, call, err := s.overrideOf(ctx, r, c, in)
			if err != nil {
				return Preview{}, err
			}
			if d.Status == decision.StatusExecuted {
				return Preview{Effect: fmt.Sprintf("revert decision %s (%s) with %s %s", d.ID, d.Tool, call.Tool, call.Args)}, nil
			}
			return Preview{Effect: fmt.Sprintf("drop the agent's %s call and run %s %s as %s instead", d.Tool, call.Tool, call.Args, c.Actor)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *OverrideDecisionInput) (Override, error) {
			d, call, err := s.overrideOf(ctx, r, c, in)
			if err != nil {
				return Override{}, err
			}
			if d.Status == decision.StatusExecuted {
				return s.revert(ctx, r, c, d, call, in.Reason)
			}
			call.Reason = in.Reason
			if d, err = s.move(ctx, c, d, decision.StatusOverridden, decision.Change{Override: &call}); err != nil {
				return Override{}, err
			}
			if _, err := r.decide(context.WithoutCancel(ctx), c, d.ApprovalID, "overridden: "+in.Reason, false, true); err != nil &&
				fault.KindOf(err) != fault.KindConflict {
				return Override{}, fmt.Errorf("drop the held call of decision %s: %w", d.ID, err)
			}
			d, out, err := s.runAs(ctx, r, c, d, call)
			return Override{Decision: d, Result: out}, err
		},
	}
}

// overrideOf reads the decision an override acts on and the call it
// makes: the admin's replacement before execution, the compensating call
// after.
func (s AgentServices) overrideOf(ctx context.Context, r *Registry, c *Call, in *OverrideDecisionInput) (decision.Decision, decision.Override, error) {
	d, err := s.Decisions.Decision(ctx, c.Tenant.ID, in.ID)
	if err != nil {
		return d, decision.Override{}, err
	}
	switch d.Status {
	case decision.StatusExecuted:
		if in.Tool != "" || len(in.Args) > 0 {
			return d, decision.Override{}, fault.Invalid("tool", "decision %s ran already: it can only be reverted by its compensating call, so name no tool or arguments", d.ID)
		}
		u, err := r.Compensation(d.Tool, d.Args, d.Result)
		if err != nil {
			return d, decision.Override{}, err
		}
		args, err := json.Marshal(u.Args)
		if err != nil {
			return d, decision.Override{}, fmt.Errorf("encode the compensating call of %s: %w", d.ID, err)
		}
		return d, decision.Override{Tool: u.Tool, Args: args}, nil
	case decision.StatusAwaitingApproval:
		call := decision.Override{Tool: in.Tool, Args: in.Args}
		if call.Tool == "" {
			call.Tool = d.Tool
		}
		if len(call.Args) == 0 {
			if call.Tool == d.Tool {
				return d, call, fault.Invalid("args", "an override of decision %s with the same tool needs other arguments (to run it as is, approve it)", d.ID)
			}
			call.Args = json.RawMessage("{}")
		}
		if _, ok := r.Tool(call.Tool); !ok {
			return d, call, fault.Invalid("tool", "there is no tool %q", call.Tool)
		}
		return d, call, nil
	}
	return d, decision.Override{}, fault.Conflict("decision %s is %s: it can be overridden while it awaits approval, or reverted once executed", d.ID, d.Status)
}

// revert runs the compensating call of an executed decision as the admin,
// recorded as a decision that reverts it, and marks it reverted.
func (s AgentServices) revert(ctx context.Context, r *Registry, c *Call, d decision.Decision, call decision.Override, reason string) (Override, error) {
	why := []string{"revert decision " + d.ID + " (" + d.Tool + ")"}
	if reason != "" {
		why = append(why, reason)
	}
	undo, err := s.Decisions.Propose(ctx, decision.Decision{TenantID: d.TenantID, TaskID: d.TaskID, Step: d.Step, Agent: d.Agent, AdminID: d.AdminID,
		Thoughts: why, Headline: "revert " + d.Tool, Tool: call.Tool, Args: call.Args, Reverts: d.ID,
		Verdict: decision.Verdict{Allowed: true}})
	if err != nil {
		return Override{}, err
	}
	if undo, err = s.move(ctx, c, undo, decision.StatusApproved, decision.Change{}); err != nil {
		return Override{}, err
	}
	undo, out, err := s.runAs(ctx, r, c, undo, call)
	if err != nil {
		return Override{}, err
	}
	if undo.Status != decision.StatusExecuted {
		return Override{Decision: d, Revert: &undo}, fault.Conflict("decision %s was not reverted: %s failed: %s", d.ID, call.Tool, undo.Error)
	}
	d, err = s.move(context.WithoutCancel(ctx), c, d, decision.StatusReverted, decision.Change{RevertedBy: undo.ID})
	if err != nil {
		return Override{}, err
	}
	if s.Agents != nil {
		s.Agents.Told(d)
	}
	return Override{Decision: d, Revert: &undo, Result: out}, nil
}

// runAs runs call as the admin of c, through the pipeline, and moves d
// (overridden, or the approved compensating call) to what came of it.
func (s AgentServices) runAs(ctx context.Context, r *Registry, c *Call, d decision.Decision, call decision.Override) (decision.Decision, any, error) {
	res := r.Call(ctx, Request{Actor: c.Actor, Face: c.Face, RequestID: c.RequestID, Tool: call.Tool, Input: call.Args})
	o := ApprovalOutcome{Approval: approval.Approval{State: approval.Executed}}
	if e := r.tools[call.Tool]; res.Err == nil && e != nil {
		o.Approval.Result = e.audited(res.Output)
	}
	d, err := s.finish(ctx, c, d, o, res.Err)
	return d, res.Output, err
}

// Replay is the output of replay_decision: the recorded step re-run with
// no model call, today's preview and verdict beside the recorded ones.
type Replay struct {
	Decision decision.Decision `json:"decision"`
	// Tool and Args are what the recorded reply asks for, read again.
	Tool string          `json:"tool"`
	Args json.RawMessage `json:"args"`
	// SameCall says the reply reads as the same call it was recorded as.
	SameCall bool             `json:"same_call"`
	Preview  decision.Preview `json:"preview"`
	Verdict  decision.Verdict `json:"verdict"`
	// WouldWait says the call would wait for an admin today.
	WouldWait   bool `json:"would_wait"`
	SameVerdict bool `json:"same_verdict"`
	// Differences lists what came out otherwise than recorded.
	Differences []string `json:"differences"`
}

func replayDecision(r *Registry, s AgentServices) Def[DecisionRef, Replay] {
	return Def[DecisionRef, Replay]{
		Name: ToolReplayDecision, Title: "Replay a decision", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "Re-run a decision's step from the model reply recorded with it — no model is called and nothing is changed: the " +
			"reply is read again, the call previewed (a dry run) as the agent today, and the policies asked; the answer says whether the " +
			"same call and verdict come out, and what differs.",
		Method: http.MethodPost, Path: "/agent/decisions/{id}/replay",
		Handle: func(ctx context.Context, c *Call, in *DecisionRef) (Replay, error) {
			ag, err := s.agents()
			if err != nil {
				return Replay{}, err
			}
			d, err := s.Decisions.Decision(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return Replay{}, err
			}
			if d.Reply == "" {
				return Replay{}, fault.Conflict("decision %s has no recorded model reply (it was made by an admin's override)", d.ID)
			}
			tool, args, err := ag.ReadReply(d.Reply)
			if err != nil {
				return Replay{}, fault.Conflict("the recorded reply of decision %s no longer reads as a tool call: %v", d.ID, err)
			}
			return r.replay(ctx, c, d, tool, args), nil
		},
	}
}

// replay previews tool with args as the agent of d's admin today and
// compares what comes out with d.
func (r *Registry) replay(ctx context.Context, c *Call, d decision.Decision, tool string, args json.RawMessage) Replay {
	out := Replay{Decision: d, Tool: tool, Args: args, Differences: []string{}}
	out.SameCall = tool == d.Tool && sameJSON(args, d.Args)
	if !out.SameCall {
		out.Differences = append(out.Differences, fmt.Sprintf("the reply reads as %s %s, recorded as %s %s", tool, args, d.Tool, d.Args))
	}
	agent := actor.Actor{Kind: actor.KindAgent, ID: d.AdminID, TenantID: d.TenantID, Role: actor.RolePodAdmin}
	e := r.tools[tool]
	if e != nil && !e.meta.ReadOnly {
		res := r.call(ctx, Request{Actor: agent, Face: c.Face, RequestID: c.RequestID, Tool: tool, Input: DryRunOf(args)}, nil)
		out.Verdict = decision.Verdict{Allowed: res.Verdict.Allowed(), Rule: res.Verdict.Rule, Reason: res.Verdict.Reason}
		if res.Err != nil {
			out.Verdict = decision.Verdict{Allowed: false, Rule: res.Verdict.Rule, Reason: res.Err.Error()}
		} else if p, ok := res.Output.(Preview); ok {
			out.Preview = decision.Preview{Effect: p.Effect, Cost: p.CostUSD, Destructive: e.meta.Destructive}
			rule := r.deps.Limits.AgentApproval(c.Tenant.ID, c.Tenant.Mode)
			if v := policies.Approval(policies.Call{Actor: agent, Tool: e.policy, Estimate: p.CostUSD, Agent: rule}); v.Decision == policies.NeedsApproval {
				out.WouldWait, out.Verdict = true, decision.Verdict{Rule: v.Rule, Reason: v.Reason}
			}
		}
		if out.Preview.Cost != d.Preview.Cost {
			out.Differences = append(out.Differences, fmt.Sprintf("it would cost %s today, %s when decided", out.Preview.Cost, d.Preview.Cost))
		}
	} else {
		out.Verdict = decision.Verdict{Allowed: e != nil}
	}
	recordedWait := d.ApprovalID != ""
	out.SameVerdict = out.Verdict.Allowed == d.Verdict.Allowed && out.WouldWait == recordedWait
	if !out.SameVerdict {
		out.Differences = append(out.Differences, fmt.Sprintf("the verdict today: %s; when decided: %s", verdictWords(out.Verdict, out.WouldWait),
			verdictWords(d.Verdict, recordedWait)))
	}
	return out
}

func verdictWords(v decision.Verdict, wait bool) string {
	switch {
	case wait:
		return "waits for an admin"
	case v.Allowed:
		return "allowed"
	}
	return "denied (" + v.Reason + ")"
}

// DryRunOf is args asking for a dry run of the same call; args that are
// not an object are left for the pipeline to refuse.
func DryRunOf(args json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(args, &m) != nil || m == nil {
		return args
	}
	m["dry_run"] = json.RawMessage("true")
	out, _ := json.Marshal(m)
	return out
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}

// AgentStatus is the output of agent_status.
type AgentStatus struct {
	AgentState
	Budget     policies.AgentBudget `json:"budget"`
	SpentToday money.Amount         `json:"spent_today_usd"`
	SpentMonth money.Amount         `json:"spent_month_usd"`
	// Waiting counts the decisions awaiting approval.
	Waiting int `json:"waiting"`
	// Recent are the last decisions that change something.
	Recent []decision.Decision `json:"recent"`
}

func agentStatus(r *Registry, s AgentServices) Def[struct{}, AgentStatus] {
	return Def[struct{}, AgentStatus]{
		Name: ToolAgentStatus, Title: "The agent's status", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "Whether the tenant's procurement agent runs on its own (goals, interval, who started it), the task under way, how " +
			"the last one ended, its budget and what it held or spent today and this month, the decisions awaiting approval and its last decisions.",
		Method: http.MethodGet, Path: "/agent",
		Handle: func(ctx context.Context, c *Call, _ *struct{}) (AgentStatus, error) {
			out := AgentStatus{Budget: r.deps.Limits.AgentBudget(c.Tenant.ID, c.Tenant.Mode)}
			if s.Agents != nil {
				out.AgentState = s.Agents.State(c.Tenant.ID)
			}
			now := r.deps.Now().UTC()
			day := now.Truncate(24 * time.Hour)
			var err error
			if out.SpentToday, err = s.Budget.Spent(ctx, c.Tenant.ID, budget.Agent, day); err != nil {
				return out, err
			}
			if out.SpentMonth, err = s.Budget.Spent(ctx, c.Tenant.ID, budget.Agent, day.AddDate(0, 0, 1-day.Day())); err != nil {
				return out, err
			}
			waiting, err := s.Decisions.List(ctx, decision.Filter{TenantID: c.Tenant.ID, Status: decision.StatusAwaitingApproval, Limit: 500})
			if err != nil {
				return out, err
			}
			out.Waiting = len(waiting)
			if out.Recent, err = s.Decisions.List(ctx, decision.Filter{TenantID: c.Tenant.ID, Changes: true, Limit: 10}); err != nil {
				return out, err
			}
			for i := range out.Recent {
				out.Recent[i].Reply = ""
			}
			return out, nil
		},
	}
}

// StartAgentInput is the input of start_agent.
type StartAgentInput struct {
	Control
	Goals    []string `json:"goals" jsonschema:"what the agent pursues, one goal each, e.g. keep 4 × H100 running below $12/h"`
	Interval string   `json:"interval,omitempty" jsonschema:"how often it works on them, a duration from 1m to 24h (default 15m)"`
}

// Validate implements Validator.
func (in *StartAgentInput) Validate() error {
	if len(in.Goals) == 0 || len(in.Goals) > 20 {
		return fault.Invalid("goals", "want 1 to 20 goals, got %d", len(in.Goals))
	}
	for i, g := range in.Goals {
		if g = strings.TrimSpace(g); g == "" || len(g) > 500 {
			return fault.Invalid(fmt.Sprintf("goals[%d]", i), "a goal is 1 to 500 characters")
		}
		in.Goals[i] = g
	}
	_, err := in.interval()
	return err
}

func (in *StartAgentInput) interval() (time.Duration, error) {
	if in.Interval == "" {
		return 15 * time.Minute, nil
	}
	d, err := time.ParseDuration(in.Interval)
	if err != nil || d < time.Minute || d > 24*time.Hour {
		return 0, fault.Invalid("interval", "want a duration from 1m to 24h, got %q", in.Interval)
	}
	return d, nil
}

func startAgent(s AgentServices) Def[StartAgentInput, AgentState] {
	return Def[StartAgentInput, AgentState]{
		Name: ToolStartAgent, Title: "Start the agent", Group: ToolsetAgent, MinRole: actor.RolePodAdmin,
		Description: "Run the tenant's procurement agent on its own: at once and then every interval it works on the goals, acting as you " +
			"through the same tools and policies; each call it makes is a decision (listed, streamed, posted to Slack). Starting it again " +
			"replaces the goals and interval.",
		Method: http.MethodPost, Path: "/agent/start",
		Preview: func(_ context.Context, _ *Call, in *StartAgentInput) (Preview, error) {
			d, _ := in.interval()
			return Preview{Effect: fmt.Sprintf("the agent works every %s on: %s", d, strings.Join(in.Goals, "; "))}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *StartAgentInput) (AgentState, error) {
			ag, err := s.agents()
			if err != nil {
				return AgentState{}, err
			}
			d, _ := in.interval()
			return ag.Start(ctx, c.Actor, in.Goals, d)
		},
	}
}

// StopAgentInput is the input of stop_agent.
type StopAgentInput struct {
	Control
}

func stopAgent(s AgentServices) Def[StopAgentInput, AgentState] {
	return Def[StopAgentInput, AgentState]{
		Name: ToolStopAgent, Title: "Stop the agent", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Stop the agent's autonomous runs in the tenant; a task under way ends at its next step. Decisions awaiting approval stay.",
		Method:      http.MethodPost, Path: "/agent/stop",
		Preview: func(context.Context, *Call, *StopAgentInput) (Preview, error) {
			return Preview{Effect: "the agent stops working on its own"}, nil
		},
		Handle: func(ctx context.Context, c *Call, _ *StopAgentInput) (AgentState, error) {
			ag, err := s.agents()
			if err != nil {
				return AgentState{}, err
			}
			return ag.Stop(ctx, c.Tenant.ID)
		},
	}
}

// SetAgentBudgetInput is the input of set_agent_budget.
type SetAgentBudgetInput struct {
	Control
	PerAction *money.Amount `json:"per_action_usd,omitempty" jsonschema:"most one spending call may reserve, USD; 0 is no limit; absent leaves it"`
	PerDay    *money.Amount `json:"per_day_usd,omitempty" jsonschema:"most the agent may hold or spend a UTC day, USD; 0 is no limit; absent leaves it"`
	PerMonth  *money.Amount `json:"per_month_usd,omitempty" jsonschema:"most the agent may hold or spend a calendar month, USD; 0 is no limit; absent leaves it"`
}

// Validate implements Validator.
func (in *SetAgentBudgetInput) Validate() error {
	if in.PerAction == nil && in.PerDay == nil && in.PerMonth == nil {
		return fault.Invalid("per_action_usd", "name at least one of per_action_usd, per_day_usd, per_month_usd")
	}
	return nil
}

func (in *SetAgentBudgetInput) writes() []params.SetRequest {
	var out []params.SetRequest
	for _, w := range []struct {
		key string
		v   *money.Amount
	}{{decision.ParamBudgetPerAction, in.PerAction}, {decision.ParamBudgetPerDay, in.PerDay}, {decision.ParamBudgetPerMonth, in.PerMonth}} {
		if w.v != nil {
			out = append(out, params.SetRequest{Key: w.key, Value: w.v.Decimal()})
		}
	}
	return out
}

func setAgentBudget(s AgentServices) Def[SetAgentBudgetInput, policies.AgentBudget] {
	return Def[SetAgentBudgetInput, policies.AgentBudget]{
		Name: ToolSetAgentBudget, Title: "Set the agent's budget", Group: ToolsetAgent, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Set what the agent may spend in the tenant, per action, per day and per month (the agent.budget_* parameters, both " +
			"modes): each spending call of the agent reserves against them, and one beyond them is refused. A value LIVE can read needs " +
			"confirm set to the tenant id.",
		Method: http.MethodPut, Path: "/agent/budget",
		Preview: func(_ context.Context, c *Call, in *SetAgentBudgetInput) (Preview, error) {
			var ch []string
			for _, w := range in.writes() {
				ch = append(ch, fmt.Sprintf("%s = %s", w.Key, w.Value))
			}
			return Preview{Effect: "set the agent's budget of " + c.Tenant.ID, Changes: ch}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *SetAgentBudgetInput) (policies.AgentBudget, error) {
			for _, w := range in.writes() {
				w.Scope, w.Confirm = params.Scope{TenantID: c.Tenant.ID}, c.Confirm
				if _, err := s.Params.Set(ctx, c.Actor, w); err != nil {
					return policies.AgentBudget{}, err
				}
			}
			snap := s.Params.Snapshot()
			return policies.AgentBudget{PerAction: snap.Money(c.Tenant.ID, c.Tenant.Mode, decision.ParamBudgetPerAction),
				PerDay:   snap.Money(c.Tenant.ID, c.Tenant.Mode, decision.ParamBudgetPerDay),
				PerMonth: snap.Money(c.Tenant.ID, c.Tenant.Mode, decision.ParamBudgetPerMonth)}, nil
		},
	}
}

// SendAgentMessageInput is the input of send_agent_message.
type SendAgentMessageInput struct {
	Control
	Message    string `json:"message" jsonschema:"what you ask the agent, or tell it while it works"`
	Background bool   `json:"background,omitempty" jsonschema:"answer at once with the task id rather than the task's outcome"`
}

// Validate implements Validator.
func (in *SendAgentMessageInput) Validate() error {
	if m := strings.TrimSpace(in.Message); m == "" || len(m) > 8000 {
		return fault.Invalid("message", "a message is 1 to 8000 characters")
	}
	return nil
}

func sendAgentMessage(s AgentServices) Def[SendAgentMessageInput, AgentReply] {
	return Def[SendAgentMessageInput, AgentReply]{
		Name: ToolSendAgentMessage, Title: "Message the agent", Group: ToolsetAgent, MinRole: actor.RolePodAdmin,
		Description: "Talk to the tenant's procurement agent: with no task under way the message starts one (answered with its outcome, " +
			"or at once with background); while one runs, it is taken as an intervention at the task's next step. The steps stream on " +
			"GET /api/v1/agent/stream.",
		Method: http.MethodPost, Path: "/agent/messages",
		Preview: func(context.Context, *Call, *SendAgentMessageInput) (Preview, error) {
			return Preview{Effect: "the agent works on the message; its calls are decisions, each checked and recorded"}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *SendAgentMessageInput) (AgentReply, error) {
			ag, err := s.agents()
			if err != nil {
				return AgentReply{}, err
			}
			return ag.Send(ctx, c.Actor, strings.TrimSpace(in.Message), !in.Background)
		},
	}
}
