package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// Recorder keeps the agent's decisions; decision.Service is one.
type Recorder interface {
	Propose(ctx context.Context, d decision.Decision) (decision.Decision, error)
	Record(ctx context.Context, d decision.Decision) (decision.Decision, error)
	Move(ctx context.Context, by actor.Actor, cur decision.Decision, to decision.Status, c decision.Change) (decision.Decision, error)
	Decision(ctx context.Context, tenantID, id string) (decision.Decision, error)
}

// Decided is the agent's toolset with every call made a decision: a read
// is recorded as it ended; a change is previewed (a dry run), proposed,
// then run through the guarded pipeline, and what the pipeline did (held
// it for an admin, refused it, ran it) moves the decision on, each move
// with its event. The model reads the result, the refusal, or that the
// call waits.
type Decided struct {
	RegistryTools
	Decisions Recorder
	// Pause makes the loop wait for a held call to be decided instead of
	// going on without it (agent.on_approval pause).
	Pause func() bool
	// Poll is how often a paused loop looks at the decision (1s when 0).
	Poll time.Duration
	Log  *slog.Logger
}

// Waiting is what the model reads of a call held for an admin.
type Waiting struct {
	Decision   string          `json:"decision"`
	Status     decision.Status `json:"status"`
	ApprovalID string          `json:"approval_id"`
	Note       string          `json:"note"`
}

// Call implements Tools.
func (d Decided) Call(ctx context.Context, c Call) (json.RawMessage, error) {
	// The decision is the registry call: an outside tool's is
	// call_external_tool's, as an admin approves and replays it.
	name, args := d.resolve(c.Reply.Tool, c.Reply.Args)
	m, known := d.Registry.Tool(name)
	dec := decision.Decision{TenantID: d.Actor.TenantID, TaskID: c.Task, Step: c.Iteration, Agent: c.Agent, AdminID: d.Actor.ID,
		Thoughts: c.Reply.Thoughts, Headline: c.Reply.Headline, Tool: name, Args: args, Reply: c.Raw}
	if !known || m.ReadOnly {
		res := d.run(ctx, name, args)
		dec.Verdict = verdictOf(res.Verdict)
		dec.Status, dec.Result = decision.StatusExecuted, res.output
		if res.Err != nil {
			dec.Status, dec.Error = decision.StatusFailed, res.Err.Error()
		}
		if _, err := d.Decisions.Record(ctx, dec); err != nil {
			d.log().Error("record the agent's read", "tenant", dec.TenantID, "tool", name, "err", err)
		}
		return res.output, res.Err
	}

	// The dry run: what the call would do and cost, or why it may not.
	pv := d.run(ctx, name, tools.DryRunOf(args))
	dec.Preview.Destructive = m.Destructive
	if pv.Err == nil {
		var p tools.Preview
		_ = json.Unmarshal(pv.output, &p)
		dec.Preview.Effect, dec.Preview.Cost = p.Effect, p.CostUSD
	}
	dec.Verdict = verdictOf(pv.Verdict)
	cur, err := d.Decisions.Propose(ctx, dec)
	if err != nil {
		// Nothing runs that was not recorded.
		return nil, fmt.Errorf("the decision to call %s could not be recorded, so it was not made: %w", name, err)
	}
	if pv.Err != nil {
		d.move(ctx, cur, decision.StatusRejected, decision.Change{Error: pv.Err.Error()})
		return nil, fmt.Errorf("%w (decision %s, rejected)", pv.Err, cur.ID)
	}

	res := d.run(ctx, name, args)
	v := verdictOf(res.Verdict)
	var ref *tools.Refusal
	switch {
	case errors.As(res.Err, &ref) && ref.Approval != nil:
		cur = d.move(ctx, cur, decision.StatusAwaitingApproval, decision.Change{ApprovalID: ref.Approval.ID, Verdict: &v})
		if d.Pause != nil && d.Pause() {
			return d.await(ctx, cur)
		}
		return json.Marshal(Waiting{Decision: cur.ID, Status: cur.Status, ApprovalID: ref.Approval.ID,
			Note: "this call waits for an administrator's approval (" + ref.Verdict.Reason + "); its outcome will reach you as a message. " +
				"Go on with what does not depend on it, or end with the response tool."})
	case errors.As(res.Err, &ref):
		d.move(ctx, cur, decision.StatusRejected, decision.Change{Error: res.Err.Error(), Verdict: &v})
		return nil, fmt.Errorf("%w (decision %s, rejected)", res.Err, cur.ID)
	}
	cur = d.move(ctx, cur, decision.StatusApproved, decision.Change{Verdict: &v})
	if res.Err != nil {
		d.move(ctx, cur, decision.StatusFailed, decision.Change{Error: res.Err.Error()})
		return nil, res.Err
	}
	d.move(ctx, cur, decision.StatusExecuted, decision.Change{Result: res.output})
	return res.output, nil
}

// await waits until a held decision is decided and answers its outcome
// as the model reads it.
func (d Decided) await(ctx context.Context, cur decision.Decision) (json.RawMessage, error) {
	poll := d.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("decision %s still waits for an administrator: %w", cur.ID, ctx.Err())
		case <-t.C:
		}
		got, err := d.Decisions.Decision(ctx, cur.TenantID, cur.ID)
		if err != nil {
			continue
		}
		switch got.Status {
		case decision.StatusExecuted:
			if got.Override != nil {
				return json.Marshal(map[string]any{"decision": got.ID, "overridden_with": got.Override, "result": got.Result})
			}
			return got.Result, nil
		case decision.StatusFailed, decision.StatusRejected, decision.StatusReverted:
			return nil, errors.New(OutcomeOf(got))
		}
	}
}

// OutcomeOf says in a sentence what became of a decided decision, as the
// agent is told.
func OutcomeOf(d decision.Decision) string {
	who := d.DecidedBy
	if who == "" {
		who = "the policy"
	}
	switch d.Status {
	case decision.StatusRejected:
		return fmt.Sprintf("decision %s (%s) was rejected by %s: %s", d.ID, d.Tool, who, d.Error)
	case decision.StatusFailed:
		return fmt.Sprintf("decision %s (%s) was approved by %s but failed: %s", d.ID, d.Tool, who, d.Error)
	case decision.StatusReverted:
		return fmt.Sprintf("decision %s (%s) was executed, then reverted by decision %s", d.ID, d.Tool, d.RevertedBy)
	case decision.StatusExecuted:
		if d.Override != nil {
			return fmt.Sprintf("decision %s (%s) was overridden by %s, who ran %s instead; result: %s", d.ID, d.Tool, who, d.Override.Tool, d.Result)
		}
		return fmt.Sprintf("decision %s (%s) was approved by %s and executed; result: %s", d.ID, d.Tool, who, d.Result)
	}
	return fmt.Sprintf("decision %s (%s) is %s", d.ID, d.Tool, d.Status)
}

// move moves a decision on in the agent's name, logging (not failing the
// call over) a move that could not be recorded: the call's own audit
// record says what ran.
func (d Decided) move(ctx context.Context, cur decision.Decision, to decision.Status, c decision.Change) decision.Decision {
	next, err := d.Decisions.Move(context.WithoutCancel(ctx), actor.Actor{}, cur, to, c)
	if err != nil {
		d.log().Error("record the agent's decision", "tenant", cur.TenantID, "decision", cur.ID, "to", to, "err", err)
		return cur
	}
	return next
}

func (d Decided) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func verdictOf(v policies.Verdict) decision.Verdict {
	return decision.Verdict{Allowed: v.Allowed(), Rule: v.Rule, Reason: v.Reason}
}
