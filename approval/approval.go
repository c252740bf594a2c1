// Package approval holds the vocabulary of calls that wait for an admin: a
// pending approval is a tool call stored as it was asked for (tool,
// canonical input, requester, tenant, dry-run preview, expiry), decided once
// by a POD Admin and, when approved, executed once from the stored input as
// its requester. A permission is data the server stored, never a flag a
// caller sets: no face can mark a call approved.
//
// The store keeps approvals and moves them between states atomically; the
// tools registry creates and executes them. This package has no I/O.
package approval

import (
	"encoding/json"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/money"
)

// State is where an approval stands.
type State string

// States. Pending is the only state a decision can leave; every other state
// is final except Executing, which lasts while the approved call runs.
const (
	Pending   State = "pending"
	Executing State = "executing"
	Executed  State = "executed"
	Failed    State = "failed"
	Rejected  State = "rejected"
	Expired   State = "expired"
)

// States lists every state, for validating filters.
var States = []State{Pending, Executing, Executed, Failed, Rejected, Expired}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, x := range States {
		if x == s {
			return true
		}
	}
	return false
}

// Approval is one stored call waiting for, or past, an admin's decision.
type Approval struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Tool     string `json:"tool"`
	// Input is the canonical input the call will run with. It is never
	// shown: ShownInput is the same input with secrets redacted.
	Input      json.RawMessage `json:"-"`
	ShownInput json.RawMessage `json:"input,omitempty"`
	Requester  actor.Actor     `json:"requester"`
	Face       audit.Face      `json:"face,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	// Reason is why the call waits (the policy's words).
	Reason string `json:"reason"`
	// Preview is the dry run an approver sees: effect, changes, cost.
	Preview json.RawMessage `json:"preview,omitempty"`
	// Estimate is the preview's cost, kept for listing and sorting.
	Estimate  money.Amount `json:"estimate"`
	State     State        `json:"state"`
	CreatedAt time.Time    `json:"created_at"`
	ExpiresAt time.Time    `json:"expires_at"`
	DecidedAt *time.Time   `json:"decided_at,omitempty"`
	DecidedBy *actor.Actor `json:"decided_by,omitempty"`
	Note      string       `json:"note,omitempty"`
	// Result and Error are the executed call's outcome.
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
}

// Decision is an admin's answer to a pending approval.
type Decision struct {
	ID       string
	TenantID string
	// To is Executing (approve) or Rejected.
	To   State
	By   actor.Actor
	Note string
	At   time.Time
}

// Outcome is how an executed approval ended.
type Outcome struct {
	ID     string
	Result json.RawMessage
	Error  string
	At     time.Time
}

// Filter selects approvals of one tenant, newest first.
type Filter struct {
	TenantID string
	State    State
	// RequesterKind and RequesterID narrow to one requester's calls.
	RequesterKind actor.Kind
	RequesterID   string
	Limit         int
}

// IsPerson reports whether a is a person rather than a program: a person
// may not approve its own call, while the agent's calls are approved by the
// admin it works for.
func IsPerson(a actor.Actor) bool {
	return a.Kind == actor.KindUser || a.Kind == actor.KindToken || a.Kind == actor.KindSlack
}

// SameActor reports whether a and b are the same caller.
func SameActor(a, b actor.Actor) bool { return a.Kind == b.Kind && a.ID == b.ID }
