package decision

import (
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
)

// Approval says which decisions of the agent wait for an admin.
type Approval string

// The approval rules.
const (
	ApproveAlways      Approval = policies.AgentAlways
	ApproveAboveCost   Approval = policies.AgentAboveCost
	ApproveDestructive Approval = policies.AgentDestructive
	ApproveNever       Approval = policies.AgentNever
)

// The parameters of the approval policy.
const (
	ParamApproval      = "agent.approval"
	ParamApprovalAbove = "agent.approval_above_usd"
)

// Params declares the parameters of the agent's decisions. Their events
// go to the topic of the agent domain (gpubroker.agent), so no topic is
// declared here.
func Params() []params.Spec {
	return []params.Spec{
		{Key: ParamApproval, Type: params.TypeEnum, Default: string(ApproveAboveCost), Affects: params.AffectsBoth, Group: "agent",
			Enum: []string{string(ApproveAlways), string(ApproveAboveCost), string(ApproveDestructive), string(ApproveNever)},
			Description: "Which tool calls of the agent wait for an admin's approval: always every one that changes something, above_cost " +
				"those whose estimate costs more than agent.approval_above_usd, destructive those that remove or stop something, never none."},
		{Key: ParamApprovalAbove, Type: params.TypeMoney, Default: "10", Affects: params.AffectsBoth, Group: "agent",
			Description: "With agent.approval above_cost, a tool call of the agent whose preview costs more than this many USD waits for an admin's approval.",
			Rules:       []params.Rule{params.MoneyRange(0, 1_000_000*money.Dollar)}},
	}
}

// ApprovalPolicy is the approval rule a tenant's parameters set.
type ApprovalPolicy struct {
	Rule Approval
	// Above is the cost a call must exceed to wait under ApproveAboveCost.
	Above money.Amount
}

// ReadApprovalPolicy reads a tenant's approval policy in mode m.
func ReadApprovalPolicy(s *params.Snapshot, tenantID string, m mode.Mode) ApprovalPolicy {
	return ApprovalPolicy{Rule: Approval(s.String(tenantID, m, ParamApproval)), Above: s.Money(tenantID, m, ParamApprovalAbove)}
}

// NeedsApproval reports whether a call costing cost, destructive or not,
// waits for an admin under p: the rule policies.Approval holds the
// agent's calls to (a rule it does not know makes every call wait).
func NeedsApproval(p ApprovalPolicy, cost money.Amount, destructive bool) bool {
	return policies.AgentRule{Rule: string(p.Rule), Above: p.Above}.Waits(cost, destructive)
}
