package decision

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/policies"
)

// Status is where a decision of the agent is in its life.
type Status string

// The statuses of a decision.
const (
	// StatusProposed is a tool call the agent chose and a dry run
	// previewed, recorded before the guarded pipeline runs it.
	StatusProposed Status = "proposed"
	// StatusAwaitingApproval waits for an admin: the tools registry held
	// the call under the tenant's approval rule, as ApprovalID.
	StatusAwaitingApproval Status = "awaiting_approval"
	// StatusApproved may run as proposed; DecidedBy names who let it
	// (an admin, or DecidedByPolicy).
	StatusApproved Status = "approved"
	// StatusRejected will not run.
	StatusRejected Status = "rejected"
	// StatusOverridden runs the admin's replacement (Override) instead of
	// the agent's call.
	StatusOverridden Status = "overridden"
	// StatusExecuted ran; Result holds what the tool answered.
	StatusExecuted Status = "executed"
	// StatusFailed ran and failed; Error says why.
	StatusFailed Status = "failed"
	// StatusReverted was executed and then undone by a compensating call,
	// the decision RevertedBy names.
	StatusReverted Status = "reverted"
)

// Statuses lists every status in the order of a decision's life.
var Statuses = []Status{StatusProposed, StatusAwaitingApproval, StatusApproved, StatusRejected,
	StatusOverridden, StatusExecuted, StatusFailed, StatusReverted}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// decisionMoves is the one table of the moves a decision may make. A
// decision either runs as proposed (approved), runs as an admin changed it
// (overridden) or does not run (rejected); what ran either executed or
// failed. Only an executed call has an effect left to undo, so only it may
// be reverted.
var decisionMoves = map[Status][]Status{
	StatusProposed:         {StatusAwaitingApproval, StatusApproved, StatusRejected},
	StatusAwaitingApproval: {StatusApproved, StatusRejected, StatusOverridden},
	StatusApproved:         {StatusExecuted, StatusFailed},
	StatusOverridden:       {StatusExecuted, StatusFailed},
	StatusExecuted:         {StatusReverted},
	StatusRejected:         nil,
	StatusFailed:           nil,
	StatusReverted:         nil,
}

// CanMove reports whether a decision in status from may move to status to.
func CanMove(from, to Status) bool { return slices.Contains(decisionMoves[from], to) }

// NextStatuses lists the statuses a decision in s may move to.
func NextStatuses(s Status) []Status { return slices.Clone(decisionMoves[s]) }

// Final reports whether nothing can happen to a decision in s any more.
func (s Status) Final() bool { return len(decisionMoves[s]) == 0 }

// CheckMove checks a move and answers the refusal a caller sees: a
// conflict naming the decision's status and what it could become instead.
func CheckMove(id string, from, to Status) error {
	if CanMove(from, to) {
		return nil
	}
	return fault.IllegalMove("decision", id, from, to, decisionMoves[from])
}

// DecidedByPolicy is the DecidedBy of a decision no admin had to decide.
const DecidedByPolicy = "policy"

// Preview is what a dry run of the call showed before it ran.
type Preview struct {
	// Effect says in a sentence what the call would change.
	Effect string `json:"effect"`
	// Cost is what the call would spend.
	Cost money.Amount `json:"cost"`
	// Destructive is set when the call removes or stops something that
	// cannot simply be made again (a pod terminated, data deleted).
	Destructive bool `json:"destructive,omitempty"`
}

// Verdict is what the policies said of the call.
type Verdict struct {
	Allowed bool          `json:"allowed"`
	Rule    policies.Rule `json:"rule,omitempty"`
	Reason  string        `json:"reason,omitempty"`
}

// Override is the call an admin ran instead of the agent's.
type Override struct {
	Tool string          `json:"tool"`
	Args json.RawMessage `json:"args,omitempty"`
	// Reason is what the admin said of the change.
	Reason string `json:"reason,omitempty"`
}

// Decision is one tool call of the agent, with everything needed to see
// why it was made and to replay the run: the model's reply as received,
// the preview and verdict it was judged on, and what became of it.
type Decision struct {
	// ID is "dec_" and a UUIDv7, so ids sort by creation.
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	TaskID   string `json:"task_id"`
	// Step numbers the decisions of one agent in a task from 1.
	Step int `json:"step"`
	// Agent is 0 for the top agent and 1+ for its subordinates.
	Agent int `json:"agent"`
	// AdminID is the admin the agent acts for.
	AdminID  string          `json:"admin_id"`
	Thoughts []string        `json:"thoughts"`
	Headline string          `json:"headline"`
	Tool     string          `json:"tool"`
	Args     json.RawMessage `json:"args"`
	Preview  Preview         `json:"preview"`
	Verdict  Verdict         `json:"verdict"`
	Status   Status          `json:"status"`
	// ReadOnly marks a call that changes nothing (a read): it is recorded
	// as it ended, with no approval to wait for and nothing to revert.
	ReadOnly bool `json:"read_only,omitempty"`
	// ApprovalID is the held call an admin decides, while the decision
	// awaits approval and after.
	ApprovalID string `json:"approval_id,omitempty"`
	// Reply is the model's reply as received (raw text), for replay.
	Reply  string          `json:"reply,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	// DecidedBy is the admin who approved, rejected or overrode the call,
	// or DecidedByPolicy when none had to.
	DecidedBy string    `json:"decided_by,omitempty"`
	Override  *Override `json:"override,omitempty"`
	// Reverts names the executed decision this one's call compensates;
	// RevertedBy, on a reverted decision, the one that did.
	Reverts    string    `json:"reverts,omitempty"`
	RevertedBy string    `json:"reverted_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Revision   int64     `json:"revision"`
}

// Change moves a decision on the revision read. Empty fields leave
// what is stored.
type Change struct {
	ID       string
	TenantID string
	Revision int64
	From, To Status
	At       time.Time

	Result     json.RawMessage
	Error      string
	DecidedBy  string
	Override   *Override
	RevertedBy string
	ApprovalID string
	// Face is the way the admin moving it came (rest, mcp, slack…); the
	// agent's own moves are face agent.
	Face audit.Face
	// Verdict, when set, replaces the verdict the call was proposed with
	// (the pipeline's, which a dry run does not fully know: the budget,
	// the approval rule).
	Verdict *Verdict
}

// Filter selects a tenant's decisions, newest first. Zero fields
// do not filter.
type Filter struct {
	TenantID string
	Status   Status
	Tool     string
	TaskID   string
	// MinCost keeps decisions whose preview costs at least this much.
	MinCost money.Amount
	// Changes keeps the calls that change something, leaving out reads.
	Changes bool
	// After is the id of the last decision of the previous page.
	After string
	// Limit is at most 500 (and 500 when out of range).
	Limit int
}

// SlackDelivery is how a tenant's decisions reached its Slack channel
// since a time: the messages posted, the decisions that change something
// but have no message (waiting, or given up on), and when the latest was
// posted.
type SlackDelivery struct {
	Posted         int64     `json:"posted"`
	Unposted       int64     `json:"unposted"`
	OldestUnposted time.Time `json:"oldest_unposted_at,omitzero"`
	LastPostedAt   time.Time `json:"last_posted_at,omitzero"`
}
