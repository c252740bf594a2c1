// Package policies decides whether a tool call may run: allow, deny (with a
// reason), needs confirmation, or needs approval. Every face reaches tools
// through the same registry, so these rules hold on REST, MCP and the agent
// alike.
//
// Policies are plain functions of their inputs: they do no I/O, keep no
// state and read no clock. The caller gathers the facts (the tenant's mode,
// the actor's recent call count, the budget reservation's outcome) and the
// policy turns them into a Verdict.
package policies

import (
	"fmt"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
)

// Decision is what a policy concludes.
type Decision string

// Decisions.
const (
	Allow             Decision = "allow"
	Deny              Decision = "deny"
	NeedsConfirmation Decision = "needs_confirmation"
	NeedsApproval     Decision = "needs_approval"
)

// Decisions are every decision a verdict may carry, for filters and
// their choices.
var Decisions = []Decision{Allow, Deny, NeedsConfirmation, NeedsApproval}

// Rule names the rule behind a verdict. Faces map verdicts by rule (a
// refused rate is a 429, an exhausted budget a 402), so rules are typed
// constants, never matched as text.
type Rule string

// Rules: the policies of Evaluate, and the pipeline's own refusals.
const (
	RuleRole      Rule = "role"
	RuleScope     Rule = "scope"
	RuleMFA       Rule = "mfa"
	RuleTenant    Rule = "tenant"
	RuleOwnership Rule = "ownership"
	RuleRate      Rule = "rate"
	RuleMode      Rule = "mode"
	RuleApproval  Rule = "approval"
	RuleBudget    Rule = "budget"
	// RuleTool refuses an unknown tool; RuleInput an input that does not
	// decode or validate; RuleTarget a target that cannot be resolved;
	// RuleDomain a handler that asked for confirmation.
	RuleTool   Rule = "tool"
	RuleInput  Rule = "input"
	RuleTarget Rule = "target"
	RuleDomain Rule = "domain"
)

// Verdict is a decision with its reason and, for confirmation, the phrase
// the caller must send back.
type Verdict struct {
	Decision Decision `json:"decision"`
	Rule     Rule     `json:"rule,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Confirm  string   `json:"confirm,omitempty"`
}

// Allowed reports whether the call may run.
func (v Verdict) Allowed() bool { return v.Decision == Allow }

func allow() Verdict { return Verdict{Decision: Allow} }

func deny(rule Rule, format string, args ...any) Verdict {
	return Verdict{Decision: Deny, Rule: rule, Reason: fmt.Sprintf(format, args...)}
}

// Tool is what policies need to know about a tool.
type Tool struct {
	Name string
	// Group is the toolset (tenants, parameters, offers, …), which API
	// token scopes can name.
	Group    string
	MinRole  actor.Role
	ReadOnly bool
	// Spends marks a tool that can cost money: its estimate is what an
	// approval threshold reads.
	Spends bool
	// Destructive marks a tool that removes or stops something.
	Destructive bool
	// Platform marks a tool that acts across tenants (creating tenants,
	// global parameters): only a platform operator may call it.
	Platform bool
	// MFAExempt keeps the tool open to a POD Admin who signed in without
	// a second factor while MFA is required, so the admin can enrol.
	MFAExempt bool
	// Public opens the tool to visitors who have not signed in.
	Public bool
}

// Target is the tenant a call acts on and, for owned resources, the owner.
type Target struct {
	TenantID string
	Mode     mode.Mode
	// OwnerID is the user owning the resource, when the tool acts on one
	// (a pod); users reach only their own.
	OwnerID string
	// Platform marks a call that reaches beyond one tenant for this input
	// (a global parameter scope, another tenant's listing).
	Platform bool
}

// Call gathers every fact the policies read.
type Call struct {
	Actor  actor.Actor
	Tool   Tool
	Target Target
	// Confirm is the phrase the caller sent, if any.
	Confirm string
	// Rate: calls this actor made to this tool in the current window,
	// including this one, and the limit.
	RateCount, RateLimit int
	// Approved is set only by the registry, when it executes a stored
	// pending call that an admin approved; no face can set it.
	Approved bool
	// Estimate is a spending call's estimated cost, and ApprovalAbove the
	// tenant's threshold above which a spending call of anyone but a POD
	// Admin waits for an admin's approval (0: no threshold).
	Estimate, ApprovalAbove money.Amount
	// MFARequired is the parameter auth.mfa_required_for_admins.
	MFARequired bool
	// Agent is the tenant's rule of which calls of the agent wait.
	Agent AgentRule
}

// The rules (agent.approval) of which calls of the agent wait for an
// admin: every call that changes something, those whose estimate passes a
// cost, the destructive ones, or none.
const (
	AgentAlways      = "always"
	AgentAboveCost   = "above_cost"
	AgentDestructive = "destructive"
	AgentNever       = "never"
)

// AgentRule is a tenant's rule of which calls of the agent wait for an
// admin, and the cost above which they wait under AgentAboveCost.
type AgentRule struct {
	Rule  string
	Above money.Amount
}

// Waits reports whether a call of the agent that changes something,
// estimated at cost, destructive or not, waits for an admin under r. A
// rule not known makes every call wait: a misread policy must not let a
// call through.
func (r AgentRule) Waits(cost money.Amount, destructive bool) bool {
	switch r.Rule {
	case AgentNever:
		return false
	case AgentAboveCost:
		return cost > r.Above
	case AgentDestructive:
		return destructive
	}
	return true
}

// PlatformTenant is the operator's home tenant: its POD Admins run the
// platform and may act on every tenant.
const PlatformTenant = "default"

// IsPlatformOperator reports whether a acts for the whole platform: the
// platform itself, or a POD Admin of the operator's home tenant.
func IsPlatformOperator(a actor.Actor) bool {
	if a.Kind == actor.KindSystem {
		return true
	}
	return a.Role == actor.RolePodAdmin && a.TenantID == PlatformTenant
}

// Evaluate runs every rule in order and returns the first verdict that is
// not Allow: role, token scope, admin MFA, tenant isolation, ownership,
// rate, mode, then approval.
func Evaluate(c Call) Verdict {
	for _, rule := range []func(Call) Verdict{Role, Scope, MFA, Tenant, Ownership, Rate, Mode, Approval} {
		if v := rule(c); !v.Allowed() {
			return v
		}
	}
	return allow()
}

// Visible reports whether a tool should be listed to a: tools above the
// actor's role, and platform tools for tenant admins, are invisible.
func Visible(a actor.Actor, t Tool) bool {
	c := Call{Actor: a, Tool: t}
	return Role(c).Allowed() && Scope(c).Allowed() && (!t.Platform || IsPlatformOperator(a))
}

// ScopeRead is the scope of every read-only tool.
const ScopeRead = "read"

// Scope narrows an API token to the tools its scopes name: "read" for
// every read-only tool, a toolset name for its tools, or a tool's own
// name. A token without scopes reaches every tool its role allows.
func Scope(c Call) Verdict {
	scopes := c.Actor.Scopes()
	if c.Actor.Kind != actor.KindToken || len(scopes) == 0 {
		return allow()
	}
	for _, s := range scopes {
		if s == c.Tool.Name || s == c.Tool.Group && s != "" || s == ScopeRead && c.Tool.ReadOnly {
			return allow()
		}
	}
	return deny(RuleScope, "this API token's scopes (%s) do not cover %s", c.Actor.Scope, c.Tool.Name)
}

// MFA requires POD Admins who signed in with a password to have used a
// second factor, when the parameter auth.mfa_required_for_admins is on.
func MFA(c Call) Verdict {
	if !c.MFARequired || c.Actor.Kind != actor.KindUser || c.Actor.Role != actor.RolePodAdmin || c.Actor.MFA || c.Tool.MFAExempt {
		return allow()
	}
	return deny(RuleMFA, "POD Admins must sign in with MFA (auth.mfa_required_for_admins): enrol with enroll_mfa and confirm_mfa, then sign in again with a code")
}

// Role enforces RBAC (R19.7): the actor's role must reach the tool's.
func Role(c Call) Verdict {
	switch {
	case c.Tool.Public:
		return allow()
	case c.Actor.Kind == actor.KindAnonymous:
		return deny(RuleRole, "%s needs a signed-in caller", c.Tool.Name)
	case !c.Actor.Role.Valid():
		return deny(RuleRole, "caller has no valid role")
	}
	if !c.Actor.Role.AtLeast(c.Tool.MinRole) {
		return deny(RuleRole, "%s needs role %s; caller is %s", c.Tool.Name, c.Tool.MinRole, c.Actor.Role)
	}
	return allow()
}

// Tenant enforces isolation: an actor reaches only its own tenant, unless it
// is a platform operator; platform tools and platform-wide inputs are for
// operators only.
func Tenant(c Call) Verdict {
	op := IsPlatformOperator(c.Actor)
	switch {
	case c.Tool.Platform && !op:
		return deny(RuleTenant, "%s acts across tenants and is for platform operators only", c.Tool.Name)
	case c.Target.Platform && !op:
		return deny(RuleTenant, "this %s call reaches beyond tenant %s; only platform operators may make it", c.Tool.Name, c.Actor.TenantID)
	case c.Target.TenantID != "" && c.Target.TenantID != c.Actor.TenantID && !op:
		return deny(RuleTenant, "caller belongs to tenant %q and may not act on tenant %q", c.Actor.TenantID, c.Target.TenantID)
	}
	return allow()
}

// Ownership lets users reach only their own resources; POD Admins reach
// every resource of their tenant.
func Ownership(c Call) Verdict {
	if c.Target.OwnerID == "" || c.Actor.Role == actor.RolePodAdmin || c.Actor.Kind == actor.KindSystem {
		return allow()
	}
	if c.Actor.Kind == actor.KindUser && c.Actor.ID == c.Target.OwnerID {
		return allow()
	}
	return deny(RuleOwnership, "the resource belongs to another user")
}

// Rate limits calls per actor and tool within a window.
func Rate(c Call) Verdict {
	if c.RateLimit > 0 && c.RateCount > c.RateLimit {
		return deny(RuleRate, "rate limit: at most %d calls per minute to %s", c.RateLimit, c.Tool.Name)
	}
	return allow()
}

// Mode makes every mutation of a LIVE tenant name the tenant as
// confirmation: LIVE means real money and real machines. A public tool is
// exempt: it may not spend, and the visitor calling it (registering,
// confirming an address) knows no tenant to name.
func Mode(c Call) Verdict {
	if c.Tool.ReadOnly || c.Tool.Public || c.Target.Mode != mode.Live || c.Target.TenantID == "" {
		return allow()
	}
	if c.Confirm != c.Target.TenantID {
		return Verdict{Decision: NeedsConfirmation, Rule: RuleMode,
			Reason:  fmt.Sprintf("tenant %s is LIVE: %s changes real resources; repeat with confirm=%q", c.Target.TenantID, c.Tool.Name, c.Target.TenantID),
			Confirm: c.Target.TenantID}
	}
	return allow()
}

// Approval holds a call until an admin approves it: a call of the agent
// that changes something when the tenant's agent rule says it waits, and a
// spending call of anyone but a POD Admin whose estimate passes the
// tenant's approval threshold.
func Approval(c Call) Verdict {
	if c.Approved || c.Tool.ReadOnly {
		return allow()
	}
	if c.Actor.Kind == actor.KindAgent {
		if !c.Agent.Waits(c.Estimate, c.Tool.Destructive) {
			return allow()
		}
		why := "every call of the agent that changes something waits"
		switch c.Agent.Rule {
		case AgentAboveCost:
			why = fmt.Sprintf("it would cost about %s, above the agent's approval threshold of %s", c.Estimate, c.Agent.Above)
		case AgentDestructive:
			why = "it removes or stops something"
		}
		return Verdict{Decision: NeedsApproval, Rule: RuleApproval, Reason: fmt.Sprintf("%s: %s; an admin must approve the agent's call", c.Tool.Name, why)}
	}
	if !c.Tool.Spends {
		return allow()
	}
	switch {
	case c.ApprovalAbove > 0 && c.Estimate > c.ApprovalAbove && c.Actor.Role != actor.RolePodAdmin:
		return Verdict{Decision: NeedsApproval, Rule: RuleApproval, Reason: fmt.Sprintf("%s would cost about %s, above the approval threshold of %s: an admin must approve it",
			c.Tool.Name, c.Estimate, c.ApprovalAbove)}
	}
	return allow()
}

// AgentBudget is what the agent may spend for a tenant: per action, per
// day and per calendar month (UTC); 0 is no limit.
type AgentBudget struct {
	PerAction money.Amount `json:"per_action_usd"`
	PerDay    money.Amount `json:"per_day_usd"`
	PerMonth  money.Amount `json:"per_month_usd"`
}

// AgentSpending judges a spending call of the agent costing cost against
// its budget, given what it held or spent today and this month.
func AgentSpending(tool string, cost money.Amount, b AgentBudget, today, month money.Amount) Verdict {
	switch {
	case b.PerAction > 0 && cost > b.PerAction:
		return deny(RuleBudget, "%s would cost about %s, over the agent's limit of %s per action", tool, cost, b.PerAction)
	case b.PerDay > 0 && today+cost > b.PerDay:
		return deny(RuleBudget, "%s would cost about %s, but the agent has %s left of its %s a day", tool, cost, max(0, b.PerDay-today), b.PerDay)
	case b.PerMonth > 0 && month+cost > b.PerMonth:
		return deny(RuleBudget, "%s would cost about %s, but the agent has %s left of its %s a month", tool, cost, max(0, b.PerMonth-month), b.PerMonth)
	}
	return allow()
}

// Budget turns the outcome of an atomic reservation into a verdict.
func Budget(tool string, ok bool, estimate, remaining money.Amount) Verdict {
	if ok {
		return allow()
	}
	return deny(RuleBudget, "%s would cost about %s but only %s of the budget remains", tool, estimate, remaining)
}
