package decision

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
)

// The events of a decision, one per status it can reach. They go to the
// agent domain's topic keyed by tenant, so a tenant's decisions reach a
// consumer in the order they were committed.
const (
	EventDecisionProposed         events.Type = "agent.decision_proposed"
	EventDecisionAwaitingApproval events.Type = "agent.decision_awaiting_approval"
	EventDecisionApproved         events.Type = "agent.decision_approved"
	EventDecisionRejected         events.Type = "agent.decision_rejected"
	EventDecisionOverridden       events.Type = "agent.decision_overridden"
	EventDecisionExecuted         events.Type = "agent.decision_executed"
	EventDecisionFailed           events.Type = "agent.decision_failed"
	EventDecisionReverted         events.Type = "agent.decision_reverted"
)

// EventFor is the event of a decision reaching status s.
func EventFor(s Status) events.Type { return events.Type("agent.decision_" + string(s)) }

// Moved is the payload of a decision's events: the decision as
// committed (without the model's raw reply, which stays in the database
// for replay and can be long), the status it left ("" when proposed) and
// who moved it.
type Moved struct {
	Decision Decision    `json:"decision"`
	From     Status      `json:"from,omitempty"`
	Actor    actor.Actor `json:"actor"`
}

// Repo stores decisions. Every call made with the context InTx
// gives its fn joins one transaction: a decision, its outbox event and its
// audit record commit together or not at all.
type Repo interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CreateDecision(ctx context.Context, d Decision) error
	// Decision reads one decision of a tenant; another tenant's is not
	// found.
	Decision(ctx context.Context, tenantID, id string) (Decision, error)
	ListDecisions(ctx context.Context, f Filter) ([]Decision, error)
	// MoveDecision applies c on c.Revision if the decision is still in
	// c.From; otherwise it is a conflict naming the status it is in.
	MoveDecision(ctx context.Context, c Change) (Decision, error)
	Enqueue(ctx context.Context, es ...events.Event) error
	AppendAudit(ctx context.Context, r audit.Record) (int64, error)
}

// Service records the agent's decisions and publishes every status they
// reach.
type Service struct {
	repo      Repo
	now       func() time.Time
	committed func()
}

// OnCommit sets what to call after a decision's event committed (the
// relay's Nudge, so it leaves at once rather than at the next poll). It
// must be set before the service is used.
func (s *Service) OnCommit(fn func()) { s.committed = fn }

// inTx runs fn in one transaction and, once it committed, nudges.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := s.repo.InTx(ctx, fn); err != nil {
		return err
	}
	if s.committed != nil {
		s.committed()
	}
	return nil
}

// NewService returns the decision service.
func NewService(repo Repo, now func() time.Time) *Service {
	return &Service{repo: repo, now: now}
}

// Propose records d as proposed, with its event in the same transaction,
// before the pipeline runs its call: whether it waits for an admin is the
// registry's to say (the move to awaiting_approval). It fills the id,
// status, times and revision.
func (s *Service) Propose(ctx context.Context, d Decision) (Decision, error) {
	d.Status, d.Result, d.Error = StatusProposed, nil, ""
	return s.create(ctx, d, EventDecisionProposed)
}

// Record records a read the agent made as it ended, executed (with its
// result) or failed (with its error): a read waits for nobody and leaves
// nothing to undo, so it is recorded once, with one event.
func (s *Service) Record(ctx context.Context, d Decision) (Decision, error) {
	if d.Status != StatusExecuted && d.Status != StatusFailed {
		return Decision{}, fault.Invalid("status", "a read is recorded executed or failed, not %s", d.Status)
	}
	d.ReadOnly, d.DecidedBy = true, DecidedByPolicy
	return s.create(ctx, d, EventFor(d.Status))
}

func (s *Service) create(ctx context.Context, d Decision, typ events.Type) (Decision, error) {
	if d.TenantID == "" || d.TaskID == "" || d.Tool == "" {
		return Decision{}, fault.Invalid("decision", "a decision needs a tenant, a task and a tool")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Decision{}, fmt.Errorf("decision id: %w", err)
	}
	at := s.now().UTC().Truncate(time.Microsecond)
	d.ID, d.CreatedAt, d.UpdatedAt, d.Revision = "dec_"+id.String(), at, at, 1
	d.Override, d.RevertedBy, d.ApprovalID = nil, "", ""
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.repo.CreateDecision(ctx, d); err != nil {
			return err
		}
		return s.publish(ctx, typ, d, "", agentActor(d), at)
	})
	if err != nil {
		return Decision{}, fmt.Errorf("record %s: %w", d.Tool, err)
	}
	return d, nil
}

// Move moves cur, as read, to status to, recording what c carries (result,
// error, who decided, the override or the reverting decision). by is the
// admin who moved it; the zero actor means the agent itself, and a
// decision it approves or rejects is decided by DecidedByPolicy. The status
// change, its event and its audit record commit together; a decision that
// moved since it was read is a conflict naming its status now.
func (s *Service) Move(ctx context.Context, by actor.Actor, cur Decision, to Status, c Change) (Decision, error) {
	if err := CheckMove(cur.ID, cur.Status, to); err != nil {
		return Decision{}, err
	}
	if to == StatusOverridden && (c.Override == nil || c.Override.Tool == "") {
		return Decision{}, fault.Invalid("override.tool", "overriding decision %s needs the tool to call instead", cur.ID)
	}
	if to == StatusAwaitingApproval && c.ApprovalID == "" {
		return Decision{}, fault.Invalid("approval_id", "decision %s waits for an admin only as a held call: name its approval", cur.ID)
	}
	if to == StatusReverted && c.RevertedBy == "" {
		return Decision{}, fault.Invalid("reverted_by", "reverting decision %s needs the decision that undid it", cur.ID)
	}
	if c.DecidedBy == "" && (to == StatusApproved || to == StatusRejected || to == StatusOverridden) {
		// Without an admin moving it, the approval policy decided.
		c.DecidedBy = DecidedByPolicy
		if by != (actor.Actor{}) {
			c.DecidedBy = by.ID
		}
	}
	if by == (actor.Actor{}) {
		by = agentActor(cur)
	}
	c.ID, c.TenantID, c.Revision, c.From, c.To = cur.ID, cur.TenantID, cur.Revision, cur.Status, to
	c.At = s.now().UTC().Truncate(time.Microsecond)
	var out Decision
	err := s.inTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.repo.MoveDecision(ctx, c); err != nil {
			return err
		}
		if err := s.publish(ctx, EventFor(to), out, c.From, by, c.At); err != nil {
			return err
		}
		_, err = s.repo.AppendAudit(ctx, auditOf(out, c.From, by, c.Face, c.At))
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	return out, nil
}

// Decision reads one decision of a tenant.
func (s *Service) Decision(ctx context.Context, tenantID, id string) (Decision, error) {
	return s.repo.Decision(ctx, tenantID, id)
}

// List lists a tenant's decisions matching f, newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Decision, error) {
	if f.TenantID == "" {
		return nil, fault.Invalid("tenant_id", "listing decisions needs a tenant")
	}
	return s.repo.ListDecisions(ctx, f)
}

func (s *Service) publish(ctx context.Context, typ events.Type, d Decision, from Status, by actor.Actor, at time.Time) error {
	d.Reply = ""
	e, err := events.New(typ, d.TenantID, d.TenantID, Moved{Decision: d, From: from, Actor: by}, at)
	if err != nil {
		return err
	}
	return s.repo.Enqueue(ctx, e)
}

// agentActor is the agent acting for the admin of d.
func agentActor(d Decision) actor.Actor {
	return actor.Actor{Kind: actor.KindAgent, ID: d.AdminID, TenantID: d.TenantID}
}

// auditOf is the audit record of d having moved from from.
func auditOf(d Decision, from Status, by actor.Actor, face audit.Face, at time.Time) audit.Record {
	// The verdict the decision stands under now: a refusal, a wait for an
	// admin, or leave to run.
	verdict := "allow"
	switch d.Status {
	case StatusRejected:
		verdict = "deny"
	case StatusAwaitingApproval:
		verdict = "needs_approval"
	}
	if face == "" {
		face = audit.FaceAgent
	}
	r := audit.Record{At: at, Actor: by, Face: face, TenantID: d.TenantID, Action: string(EventFor(d.Status)),
		Input:   audit.JSON(map[string]any{"decision": d.ID, "task": d.TaskID, "from": from, "to": d.Status, "tool": d.Tool, "args": d.Args}),
		Verdict: verdict, Result: d.Result, Error: d.Error}
	switch d.Status {
	case StatusApproved, StatusRejected, StatusOverridden:
		r.ApprovalID, r.ApprovedBy = d.ID, d.DecidedBy
	}
	return r
}
