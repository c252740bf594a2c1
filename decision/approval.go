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
		{Key: ParamBudgetPerAction, Type: params.TypeMoney, Default: "0", Affects: params.AffectsBoth, Group: "agent",
			Description: "The most one spending call of the agent may reserve, in USD; 0 is no limit.",
			Rules:       []params.Rule{params.MoneyRange(0, 1_000_000*money.Dollar)}},
		{Key: ParamBudgetPerDay, Type: params.TypeMoney, Default: "0", Affects: params.AffectsBoth, Group: "agent",
			Description: "The most the agent may hold or spend in one UTC day, in USD; 0 is no limit.",
			Rules:       []params.Rule{params.MoneyRange(0, 10_000_000*money.Dollar)}},
		{Key: ParamBudgetPerMonth, Type: params.TypeMoney, Default: "0", Affects: params.AffectsBoth, Group: "agent",
			Description: "The most the agent may hold or spend in one calendar month (UTC), in USD; 0 is no limit.",
			Rules:       []params.Rule{params.MoneyRange(0, 100_000_000*money.Dollar)}},
		{Key: ParamOnApproval, Type: params.TypeEnum, Default: OnApprovalContinue, Affects: params.AffectsBoth, Group: "agent",
			Enum: []string{OnApprovalContinue, OnApprovalPause},
			Description: "While a call of the agent waits for an admin: continue goes on with the observation that it waits (the outcome " +
				"reaches the agent as a message), pause waits for the decision."},
	}
}

// The parameters of the agent's budget and of its waiting.
const (
	ParamBudgetPerAction = "agent.budget_per_action_usd"
	ParamBudgetPerDay    = "agent.budget_per_day_usd"
	ParamBudgetPerMonth  = "agent.budget_per_month_usd"
	ParamOnApproval      = "agent.on_approval"
	OnApprovalContinue   = "continue"
	OnApprovalPause      = "pause"
)
