package tools

import (
	"time"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// ParamLimits reads call limits from the hot-reloaded parameters.
type ParamLimits struct{ Params *params.Service }

// RatePerMinute implements Limits.
func (l ParamLimits) RatePerMinute(tenantID string, m mode.Mode) int {
	return int(l.Params.Snapshot().Int(tenantID, m, "ratelimit.tool_calls_per_minute"))
}

// BudgetUSD implements Limits.
func (l ParamLimits) BudgetUSD(tenantID string, m mode.Mode) (float64, float64) {
	s := l.Params.Snapshot()
	return s.Float(tenantID, m, "budget.monthly_limit_usd"), s.Float(tenantID, m, "budget.user_monthly_limit_usd")
}

// ApprovalTTL implements Limits.
func (l ParamLimits) ApprovalTTL(tenantID string, m mode.Mode) time.Duration {
	return l.Params.Snapshot().Duration(tenantID, m, "approvals.ttl")
}

// ApprovalAboveMicros implements Limits.
func (l ParamLimits) ApprovalAboveMicros(tenantID string, m mode.Mode) int64 {
	return usdMicros(l.Params.Snapshot().Float(tenantID, m, "approvals.spend_threshold_usd"))
}

// MFARequired implements Limits.
func (l ParamLimits) MFARequired() bool {
	return l.Params.Snapshot().Bool("", "", "auth.mfa_required_for_admins")
}
