package tools

import (
	"context"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/tenant"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/policies"
)

// ParamLimits reads call limits from the hot-reloaded parameters.
type ParamLimits struct{ Params *params.Service }

// RatePerMinute implements Limits.
func (l ParamLimits) RatePerMinute(tenantID string, m mode.Mode) int {
	return int(l.Params.Snapshot().Int(tenantID, m, "ratelimit.tool_calls_per_minute"))
}

// Budget implements Limits.
func (l ParamLimits) Budget(tenantID string, m mode.Mode) (money.Amount, money.Amount) {
	s := l.Params.Snapshot()
	return s.Money(tenantID, m, "budget.monthly_limit_usd"), s.Money(tenantID, m, "budget.user_monthly_limit_usd")
}

// ApprovalTTL implements Limits.
func (l ParamLimits) ApprovalTTL(tenantID string, m mode.Mode) time.Duration {
	return l.Params.Snapshot().Duration(tenantID, m, "approvals.ttl")
}

// ApprovalAbove implements Limits.
func (l ParamLimits) ApprovalAbove(tenantID string, m mode.Mode) money.Amount {
	return l.Params.Snapshot().Money(tenantID, m, "approvals.spend_threshold_usd")
}

// AgentApproval implements Limits: agent.approval and
// agent.approval_above_usd.
func (l ParamLimits) AgentApproval(tenantID string, m mode.Mode) policies.AgentRule {
	s := l.Params.Snapshot()
	return policies.AgentRule{Rule: s.String(tenantID, m, decision.ParamApproval), Above: s.Money(tenantID, m, decision.ParamApprovalAbove)}
}

// AgentBudget implements Limits: agent.budget_per_action_usd,
// agent.budget_per_day_usd and agent.budget_per_month_usd.
func (l ParamLimits) AgentBudget(tenantID string, m mode.Mode) policies.AgentBudget {
	s := l.Params.Snapshot()
	return policies.AgentBudget{PerAction: s.Money(tenantID, m, decision.ParamBudgetPerAction),
		PerDay: s.Money(tenantID, m, decision.ParamBudgetPerDay), PerMonth: s.Money(tenantID, m, decision.ParamBudgetPerMonth)}
}

// MFARequired implements Limits.
func (l ParamLimits) MFARequired() bool {
	return l.Params.Snapshot().Bool("", "", "auth.mfa_required_for_admins")
}

// PodStorage reads the price of extra pod disk from the hot-reloaded
// parameters.
func PodStorage(p *params.Service) func(tenantID string, m mode.Mode) money.Amount {
	return func(tenantID string, m mode.Mode) money.Amount {
		return p.Snapshot().Money(tenantID, m, "billing.storage_gib_month_usd")
	}
}

// PlanReader answers the plan a user holds; billing.Service is one.
type PlanReader interface {
	PlanOf(ctx context.Context, t tenant.Tenant, userID string) (billing.Plan, error)
}

// PodDeploy reads the deploy limits from the hot-reloaded parameters.
func PodDeploy(p *params.Service) func(tenantID string, m mode.Mode) DeployLimits {
	return func(tenantID string, m mode.Mode) DeployLimits {
		s := p.Snapshot()
		return DeployLimits{ReserveHours: s.Int(tenantID, m, "pods.deploy_reserve_hours"),
			TolerancePercent: s.Float(tenantID, m, "pods.price_tolerance_percent")}
	}
}

// PlanLimit bounds each owner's live pods by their plan's max_running_pods.
func PlanLimit(tenants Tenants, plans PlanReader) func(ctx context.Context, tenantID, ownerID string) (pods.Limit, error) {
	return func(ctx context.Context, tenantID, ownerID string) (pods.Limit, error) {
		t, err := tenants.Lookup(ctx, tenantID)
		if err != nil {
			return pods.Limit{}, err
		}
		p, err := plans.PlanOf(ctx, t, ownerID)
		return pods.Limit{Max: p.Features.MaxRunningPods, Plan: p.Name}, err
	}
}
