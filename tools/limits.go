package tools

import (
	"time"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
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

// MFARequired implements Limits.
func (l ParamLimits) MFARequired() bool {
	return l.Params.Snapshot().Bool("", "", "auth.mfa_required_for_admins")
}

// PodPrices reads the platform's prices on pods from the hot-reloaded
// parameters.
func PodPrices(p *params.Service) func(tenantID string, m mode.Mode) pods.Prices {
	return func(tenantID string, m mode.Mode) pods.Prices {
		s := p.Snapshot()
		return pods.Prices{MarkupPercent: s.Float(tenantID, m, "billing.markup_percent"),
			StorageGiBMonth: s.Money(tenantID, m, "billing.storage_gib_month_usd")}
	}
}

// PodDeploy reads the deploy limits from the hot-reloaded parameters.
func PodDeploy(p *params.Service) func(tenantID string, m mode.Mode) DeployLimits {
	return func(tenantID string, m mode.Mode) DeployLimits {
		s := p.Snapshot()
		return DeployLimits{ReserveHours: s.Int(tenantID, m, "pods.deploy_reserve_hours"),
			TolerancePercent: s.Float(tenantID, m, "pods.price_tolerance_percent")}
	}
}
