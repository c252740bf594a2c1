package tools

import (
	"context"
	"net/http"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/pods"
)

// Tool names of metering.
const (
	ToolUsageSummary  = "usage_summary"
	ToolCostBreakdown = "cost_breakdown"
)

// UsageServices are what the metering tools read: the pods' running
// intervals.
type UsageServices struct {
	Usages billing.Usages
	// Now is the time open intervals are charged up to (the registry's
	// clock when nil).
	Now func() time.Time
}

// RegisterUsage registers the metering tools in the billing toolset.
func RegisterUsage(r *Registry, s UsageServices) {
	if s.Now == nil {
		s.Now = r.deps.Now
	}
	registerToolset(r, ToolsetBilling, usageSummary(s), costBreakdown(s))
}

// UsageInput is the input of the metering tools.
type UsageInput struct {
	TenantRef
	Period string `json:"period,omitempty" jsonschema:"the calendar month (UTC) as 2006-01; the current one when empty"`
	UserID string `json:"user_id,omitempty" jsonschema:"one user's usage (a POD Admin's filter; a user sees only their own)"`
}

// Validate implements Validator.
func (in *UsageInput) Validate() error {
	if _, _, err := billing.Month(in.Period, time.Time{}); err != nil {
		return fault.Invalid("period", "%v", err)
	}
	return nil
}

// roll charges the usage of the caller's tenant in the input's month, of
// owner when set.
func (s UsageServices) roll(ctx context.Context, c *Call, in *UsageInput, owner string) (billing.Rollup, error) {
	now := s.Now()
	from, to, err := billing.Month(in.Period, now)
	if err != nil {
		return billing.Rollup{}, fault.Invalid("period", "%v", err)
	}
	return billing.Roll(ctx, s.Usages, pods.UsageFilter{TenantID: c.Tenant.ID, OwnerID: owner}, from, to, now)
}

func usageSummary(s UsageServices) Def[UsageInput, billing.Rollup] {
	return Def[UsageInput, billing.Rollup]{
		Name: ToolUsageSummary, Title: "Usage and cost", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "What your pods cost in a month, as of now: the total and by pod, by day (UTC) and by provider, each split into " +
			"the provider's price, the platform's markup and storage. Every running second is charged once at the rate the pod ran at.",
		Method: http.MethodGet, Path: "/billing/usage",
		Handle: func(ctx context.Context, c *Call, in *UsageInput) (billing.Rollup, error) {
			owner := c.Actor.ID
			if c.Actor.Role == actor.RolePodAdmin {
				owner = in.UserID // an admin reads anyone's, or the whole tenant's
			} else if in.UserID != "" && in.UserID != c.Actor.ID {
				return billing.Rollup{}, fault.Forbidden("a user reads only their own usage")
			}
			return s.roll(ctx, c, in, owner)
		},
	}
}

func costBreakdown(s UsageServices) Def[UsageInput, billing.Rollup] {
	return Def[UsageInput, billing.Rollup]{
		Name: ToolCostBreakdown, Title: "The tenant's costs", Group: ToolsetBilling, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "What the tenant's pods cost in a month, as of now, by user, provider, pod and day, each split into the " +
			"providers' prices, the platform's markup and storage.",
		Method: http.MethodGet, Path: "/billing/costs",
		Handle: func(ctx context.Context, c *Call, in *UsageInput) (billing.Rollup, error) {
			return s.roll(ctx, c, in, in.UserID)
		},
	}
}
