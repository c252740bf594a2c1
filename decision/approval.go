package decision

import (
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
)

// The parameters of the approval rule the tools registry holds the
// agent's calls to (policies.AgentRule).
const (
	ParamApproval      = "agent.approval"
	ParamApprovalAbove = "agent.approval_above_usd"
)

// Params declares the parameters of the agent's decisions. Their events
// go to the topic of the agent domain (gpubroker.agent), so no topic is
// declared here.
func Params() []params.Spec {
	return []params.Spec{
		{Key: ParamApproval, Type: params.TypeEnum, Default: policies.AgentAboveCost, Affects: params.AffectsBoth, Group: "agent",
			Enum: []string{policies.AgentAlways, policies.AgentAboveCost, policies.AgentDestructive, policies.AgentNever},
			Description: "Which tool calls of the agent wait for an admin's approval: always every one that changes something, above_cost " +
				"those whose estimate costs more than agent.approval_above_usd, destructive those that remove or stop something, never none."},
		{Key: ParamApprovalAbove, Type: params.TypeMoney, Default: "10", Affects: params.AffectsBoth, Group: "agent",
			Description: "With agent.approval above_cost, a tool call of the agent whose preview costs more than this many USD waits for an admin's approval.",
			Rules:       []params.Rule{params.MoneyRange(0, 1_000_000*money.Dollar)}},
	}
}
