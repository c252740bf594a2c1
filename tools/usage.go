package tools

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
)

// Tool names of metering.
const (
	ToolUsageSummary  = "usage_summary"
	ToolCostBreakdown = "cost_breakdown"
	ToolGetBalance    = "get_balance"
)

// UsageServices are what the metering tools read: the pods' running
// intervals.
type UsageServices struct {
	Usages billing.Usages
	Ledger billing.Ledger
	// Now is the time open intervals are charged up to (the registry's
	// clock when nil).
	Now func() time.Time
}

// RegisterUsage registers the metering tools in the billing toolset.
func RegisterUsage(r *Registry, s UsageServices) {
	if s.Now == nil {
		s.Now = r.deps.Now
	}
	registerToolset(r, ToolsetBilling, usageSummary(s), costBreakdown(s), getBalance(s))
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
			owner, err := whose(c, in.UserID, true)
			if err != nil {
				return billing.Rollup{}, err
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

// whose is the user a billing read is about: the caller, or for a POD
// Admin the user named (with tenantWide, none names the whole tenant).
func whose(c *Call, userID string, tenantWide bool) (string, error) {
	switch {
	case c.Actor.Role == actor.RolePodAdmin && (userID != "" || tenantWide):
		return userID, nil
	case userID != "" && userID != c.Actor.ID:
		return "", fault.Forbidden("a user reads only their own billing")
	}
	return c.Actor.ID, nil
}

// BalanceInput is the input of get_balance.
type BalanceInput struct {
	TenantRef
	UserID string `json:"user_id,omitempty" jsonschema:"one user's account (a POD Admin's choice; a user reads only their own)"`
	Limit  int    `json:"limit,omitempty" jsonschema:"at most this many entries, newest first (default 50, max 1000)"`
}

// Validate implements Validator.
func (in *BalanceInput) Validate() error {
	if in.Limit < 0 || in.Limit > 1000 {
		return fault.Invalid("limit", "want 0 to 1000, got %d", in.Limit)
	}
	return nil
}

// Account is the output of get_balance.
type Account struct {
	UserID string `json:"user_id"`
	// Balance is prepaid credit when positive, pay-as-you-go owed when
	// negative.
	Balance money.Amount    `json:"balance"`
	Entries []billing.Entry `json:"entries"`
}

func getBalance(s UsageServices) Def[BalanceInput, Account] {
	return Def[BalanceInput, Account]{
		Name: ToolGetBalance, Title: "Account balance", Group: ToolsetBilling, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "A user's account: the balance (prepaid credit when positive, pay-as-you-go owed when negative) and its " +
			"entries newest first: credit bought, payments, and the usage of each ended running interval, drawn from credit first.",
		Method: http.MethodGet, Path: "/billing/balance",
		Handle: func(ctx context.Context, c *Call, in *BalanceInput) (Account, error) {
			user, err := whose(c, in.UserID, false)
			if err != nil {
				return Account{}, err
			}
			bal, err := s.Ledger.Balance(ctx, c.Tenant.ID, user)
			if err != nil {
				return Account{}, err
			}
			es, err := s.Ledger.Entries(ctx, c.Tenant.ID, user, cmp.Or(in.Limit, 50))
			return Account{UserID: user, Balance: bal, Entries: es}, err
		},
	}
}
