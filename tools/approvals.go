package tools

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/policies"
)

// Tool names of the approvals toolset.
const (
	ToolApproveCall   = "approve_call"
	ToolRejectCall    = "reject_call"
	ToolListApprovals = "list_approvals"
	ToolGetApproval   = "get_approval"
)

// newApprovalID returns an unguessable id: knowing one approval's id tells
// nothing of another's.
func newApprovalID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "apr_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// hold stores a call that needs an admin's approval and refuses it with the
// stored approval, whose id an admin decides by.
func (r *Registry) hold(ctx context.Context, req Request, c *Call, e *entry, in any, v policies.Verdict, now time.Time) Result {
	ref := &Refusal{Verdict: v}
	if r.deps.Approvals == nil || c.Tenant.ID == "" {
		return refused(v, ref)
	}
	canonical, err := json.Marshal(in)
	if err != nil {
		return Result{Verdict: v, Err: fmt.Errorf("hold %s: encode input: %w", e.meta.Name, err)}
	}
	shown := json.RawMessage(canonical)
	if e.redact != nil {
		shown = audit.JSON(e.redact(in))
	}
	a := approval.Approval{ID: newApprovalID(), TenantID: c.Tenant.ID, Tool: e.meta.Name, Input: canonical, ShownInput: shown,
		Requester: c.Actor, Face: req.Face, RequestID: req.RequestID, Reason: v.Reason, State: approval.Pending,
		CreatedAt: now.UTC().Truncate(time.Microsecond)}
	a.ExpiresAt = a.CreatedAt.Add(r.deps.Limits.ApprovalTTL(c.Tenant.ID, c.Tenant.Mode))
	p, err := r.preview(ctx, c, e, in)
	if err != nil {
		return Result{Verdict: v, Err: fmt.Errorf("hold %s: preview: %w", e.meta.Name, err)}
	}
	if pv, ok := p.(Preview); ok {
		a.Estimate = pv.CostUSD
	}
	if a.Preview, err = json.Marshal(p); err != nil {
		return Result{Verdict: v, Err: fmt.Errorf("hold %s: encode preview: %w", e.meta.Name, err)}
	}
	if err := r.deps.Approvals.CreateApproval(ctx, a); err != nil {
		return Result{Verdict: v, Err: fmt.Errorf("hold %s for approval: %w", e.meta.Name, err)}
	}
	ref.Verdict.Reason = fmt.Sprintf("%s; held as approval %s until %s", v.Reason, a.ID, a.ExpiresAt.Format(time.RFC3339))
	ref.Approval = &a
	return refused(ref.Verdict, ref)
}

// ApprovalOutcome is the answer of approve_call and reject_call: the
// approval in its new state and, once executed, the call's output.
type ApprovalOutcome struct {
	Approval approval.Approval `json:"approval"`
	Output   any               `json:"output,omitempty"`
}

// decide records an admin's decision on a held call. Approving executes the
// call once, from its stored input, as its requester, with the approver in
// its audit record; the store's conditional update makes sure only one
// decision wins.
//
// A call the agent asked for is a decision of the agent: it is decided
// through the decision (approve_decision…, ofDecision), which records the
// outcome with it, never by its approval alone.
func (r *Registry) decide(ctx context.Context, c *Call, id, note string, approve, ofDecision bool) (ApprovalOutcome, error) {
	if r.deps.Approvals == nil {
		return ApprovalOutcome{}, fault.Unavailable("approvals are not kept by this platform")
	}
	cur, err := r.deps.Approvals.GetApproval(ctx, c.Tenant.ID, id)
	if err != nil {
		return ApprovalOutcome{}, err
	}
	if cur.Requester.Kind == actor.KindAgent && !ofDecision {
		return ApprovalOutcome{}, fault.Conflict("approval %s holds a decision of the agent: decide it with approve_decision, reject_decision or override_decision", id)
	}
	if approval.IsPerson(cur.Requester) && approval.SameActor(cur.Requester, c.Actor) {
		return ApprovalOutcome{}, fault.Forbidden("approval %s was asked for by you: another POD Admin must decide it", id)
	}
	to := approval.Rejected
	if approve {
		to = approval.Executing
	}
	a, err := r.deps.Approvals.DecideApproval(ctx, approval.Decision{ID: id, TenantID: c.Tenant.ID, To: to, By: c.Actor, Note: note, At: r.deps.Now()})
	if err != nil || !approve {
		return ApprovalOutcome{Approval: a}, err
	}
	res := r.call(ctx, Request{Actor: a.Requester, Face: a.Face, RequestID: c.RequestID, Tool: a.Tool, Input: a.Input},
		&approved{id: a.ID, by: c.Actor})
	o := approval.Outcome{ID: a.ID, At: r.deps.Now()}
	if res.Err != nil {
		o.Error = res.Err.Error()
	} else if e := r.tools[a.Tool]; e != nil {
		o.Result = e.audited(res.Output)
	}
	// The call ran: its outcome is recorded even if the approver went away.
	if err := r.deps.Approvals.FinishApproval(context.WithoutCancel(ctx), o); err != nil {
		return ApprovalOutcome{}, fmt.Errorf("record the outcome of approval %s: %w", id, err)
	}
	final, err := r.deps.Approvals.GetApproval(context.WithoutCancel(ctx), a.TenantID, id)
	if err != nil {
		return ApprovalOutcome{}, err
	}
	return ApprovalOutcome{Approval: final, Output: res.Output}, nil
}

// ApprovalRef names one approval.
type ApprovalRef struct {
	TenantRef
	ID string `json:"id" jsonschema:"the approval id (apr_…) a needs_approval answer gave"`
}

// Validate implements Validator.
func (in *ApprovalRef) Validate() error {
	if !strings.HasPrefix(in.ID, "apr_") {
		return fault.Invalid("id", "want an approval id (apr_…), got %q", in.ID)
	}
	return nil
}

// DecideIn is the input of approve_call and reject_call.
type DecideIn struct {
	ApprovalRef
	Control
	Note string `json:"note,omitempty" jsonschema:"why the call is approved or rejected, kept with the approval"`
}

// ListApprovalsIn is the input of list_approvals.
type ListApprovalsIn struct {
	TenantRef
	State approval.State `json:"state,omitempty" jsonschema:"only approvals in this state: pending, executing, executed, failed, rejected or expired"`
	Limit int            `json:"limit,omitempty" jsonschema:"at most this many (default 100, max 500)"`
}

// Validate implements Validator.
func (in *ListApprovalsIn) Validate() error {
	if in.State != "" && !in.State.Valid() {
		return fault.Invalid("state", "want one of pending, executing, executed, failed, rejected, expired; got %q", in.State)
	}
	if in.Limit < 0 || in.Limit > 500 {
		return fault.Invalid("limit", "want 0 to 500, got %d", in.Limit)
	}
	return nil
}

// ApprovalList is the output of list_approvals.
type ApprovalList struct {
	Approvals []approval.Approval `json:"approvals"`
}

func registerApprovalTools(r *Registry) {
	registerToolset(r, ToolsetApprovals, decideCall(r, true), decideCall(r, false), listApprovals(r), getApproval(r))
}

// decisionPreview shows what deciding a held call would do.
func decisionPreview(r *Registry, approve bool) func(ctx context.Context, c *Call, in *DecideIn) (Preview, error) {
	return func(ctx context.Context, c *Call, in *DecideIn) (Preview, error) {
		if r.deps.Approvals == nil {
			return Preview{}, fault.Unavailable("approvals are not kept by this platform")
		}
		a, err := r.deps.Approvals.GetApproval(ctx, c.Tenant.ID, in.ID)
		if err != nil {
			return Preview{}, err
		}
		if !approve {
			return Preview{DryRun: true, Effect: fmt.Sprintf("reject %s's %s call (approval %s); nothing runs", a.Requester, a.Tool, a.ID)}, nil
		}
		return Preview{DryRun: true, Effect: fmt.Sprintf("run %s once as %s, from the stored input (approval %s)", a.Tool, a.Requester, a.ID),
			Changes: []string{string(a.ShownInput)}, CostUSD: a.Estimate}, nil
	}
}

// decideCall builds approve_call (approve) or reject_call: one decision,
// two tools, so each face names the decision it makes.
func decideCall(r *Registry, approve bool) Def[DecideIn, ApprovalOutcome] {
	d := Def[DecideIn, ApprovalOutcome]{
		Name: ToolRejectCall, Title: "Reject a held call", Group: ToolsetApprovals, MinRole: actor.RolePodAdmin,
		Description: "Reject a call that waits for an admin: it never runs. The note says why; the requester may not reject its own call.",
		Method:      http.MethodPost, Path: "/approvals/{id}/reject",
		Preview: decisionPreview(r, approve),
		Handle: func(ctx context.Context, c *Call, in *DecideIn) (ApprovalOutcome, error) {
			return r.decide(ctx, c, in.ID, in.Note, approve, false)
		},
	}
	if approve {
		d.Name, d.Title, d.Path = ToolApproveCall, "Approve a held call", "/approvals/{id}/approve"
		d.Description = "Approve a call that waits for an admin (an approval id from a needs_approval answer): it runs once, from the input stored when it was asked for, as the actor who asked, and its outcome is kept with the approval. The requester may not approve its own call; a decided, expired or unknown approval is refused."
	}
	return d
}

// seesAll reports whether a sees every approval of its tenant rather than
// only the calls it asked for.
func seesAll(a actor.Actor) bool { return a.Role == actor.RolePodAdmin }

// shown marks a pending approval past its expiry as expired: the store
// expires it for good when someone tries to decide it.
func (r *Registry) shown(a approval.Approval) approval.Approval {
	if a.State == approval.Pending && !r.deps.Now().Before(a.ExpiresAt) {
		a.State = approval.Expired
	}
	return a
}

func listApprovals(r *Registry) Def[ListApprovalsIn, ApprovalList] {
	return Def[ListApprovalsIn, ApprovalList]{
		Name: ToolListApprovals, Title: "List held calls", Group: ToolsetApprovals, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "List calls that wait or waited for an admin's approval, newest first, with their preview, state and outcome. POD Admins see every one of their tenant; others see the calls they asked for.",
		Method:      http.MethodGet, Path: "/approvals",
		Handle: func(ctx context.Context, c *Call, in *ListApprovalsIn) (ApprovalList, error) {
			if r.deps.Approvals == nil {
				return ApprovalList{Approvals: []approval.Approval{}}, nil
			}
			f := approval.Filter{TenantID: c.Tenant.ID, Limit: in.Limit}
			if f.Limit == 0 {
				f.Limit = 100
			}
			// An expired approval may still read pending in the store.
			if in.State != approval.Expired {
				f.State = in.State
			}
			if !seesAll(c.Actor) {
				f.RequesterKind, f.RequesterID = c.Actor.Kind, c.Actor.ID
			}
			list, err := r.deps.Approvals.ListApprovals(ctx, f)
			if err != nil {
				return ApprovalList{}, err
			}
			out := make([]approval.Approval, 0, len(list))
			for _, a := range list {
				if a = r.shown(a); in.State == "" || a.State == in.State {
					out = append(out, a)
				}
			}
			return ApprovalList{Approvals: out}, nil
		},
	}
}

func getApproval(r *Registry) Def[ApprovalRef, approval.Approval] {
	return Def[ApprovalRef, approval.Approval]{
		Name: ToolGetApproval, Title: "Get a held call", Group: ToolsetApprovals, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "One approval: the held call (tool, input with secrets redacted, requester), its preview, its state, who decided it and its outcome.",
		Method:      http.MethodGet, Path: "/approvals/{id}",
		Handle: func(ctx context.Context, c *Call, in *ApprovalRef) (approval.Approval, error) {
			if r.deps.Approvals == nil {
				return approval.Approval{}, fault.NotFound("approval", in.ID)
			}
			a, err := r.deps.Approvals.GetApproval(ctx, c.Tenant.ID, in.ID)
			if err != nil {
				return approval.Approval{}, err
			}
			// Another user's approval is not found rather than forbidden,
			// so ids cannot be probed.
			if !seesAll(c.Actor) && !approval.SameActor(a.Requester, c.Actor) {
				return approval.Approval{}, fault.NotFound("approval", in.ID)
			}
			return r.shown(a), nil
		},
	}
}
