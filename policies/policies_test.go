package policies

import (
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
)

func TestEvaluate(t *testing.T) {
	user := actor.Actor{Kind: actor.KindUser, ID: "u1", TenantID: "acme", Role: actor.RoleUser}
	pro := actor.Actor{Kind: actor.KindUser, ID: "u2", TenantID: "acme", Role: actor.RoleProUser}
	acmeAdmin := actor.Actor{Kind: actor.KindUser, ID: "a1", TenantID: "acme", Role: actor.RolePodAdmin}
	operator := actor.Actor{Kind: actor.KindToken, ID: "t1", TenantID: PlatformTenant, Role: actor.RolePodAdmin}
	agent := actor.Actor{Kind: actor.KindAgent, ID: "agent", TenantID: "acme", Role: actor.RolePodAdmin}
	system := actor.System("bootstrap")
	noRole := actor.Actor{Kind: actor.KindToken, ID: "t2", TenantID: "acme"}

	read := Tool{Name: "list_offers", MinRole: actor.RoleUser, ReadOnly: true}
	proTool := Tool{Name: "compare_offers", MinRole: actor.RoleProUser, ReadOnly: true}
	adminTool := Tool{Name: "set_parameter", MinRole: actor.RolePodAdmin}
	platformTool := Tool{Name: "create_tenant", MinRole: actor.RolePodAdmin, Platform: true}
	spend := Tool{Name: "deploy_pod", MinRole: actor.RoleUser, Spends: true}
	public := Tool{Name: "list_plans", MinRole: actor.RoleUser, ReadOnly: true, Public: true}
	publicMutation := Tool{Name: "register", MinRole: actor.RoleUser, Public: true}
	visitor := actor.Anonymous("acme", "192.0.2.7")

	acme := Target{TenantID: "acme", Mode: mode.Sandbox}
	acmeLive := Target{TenantID: "acme", Mode: mode.Live}
	beta := Target{TenantID: "beta", Mode: mode.Sandbox}

	cases := []struct {
		name string
		call Call
		want Decision
		rule Rule
	}{
		{"a user may call a user tool in its tenant", Call{Actor: user, Tool: read, Target: acme}, Allow, ""},
		{"a visitor may call a public tool", Call{Actor: visitor, Tool: public, Target: acme}, Allow, ""},
		{"a signed-in user may call a public tool", Call{Actor: user, Tool: public, Target: acme}, Allow, ""},
		{"a visitor may not call any other tool", Call{Actor: visitor, Tool: read, Target: acme}, Deny, "role"},
		{"a visitor may not reach another tenant", Call{Actor: visitor, Tool: public, Target: beta}, Deny, "tenant"},
		{"a user may not call a pro tool", Call{Actor: user, Tool: proTool, Target: acme}, Deny, "role"},
		{"a pro user may call a pro tool", Call{Actor: pro, Tool: proTool, Target: acme}, Allow, ""},
		{"a pro user may not call an admin tool", Call{Actor: pro, Tool: adminTool, Target: acme}, Deny, "role"},
		{"an actor without a role is refused", Call{Actor: noRole, Tool: read, Target: acme}, Deny, "role"},
		{"a user may not reach another tenant", Call{Actor: user, Tool: read, Target: beta}, Deny, "tenant"},
		{"a tenant admin may not reach another tenant", Call{Actor: acmeAdmin, Tool: adminTool, Target: beta}, Deny, "tenant"},
		{"a platform operator may reach any tenant", Call{Actor: operator, Tool: adminTool, Target: beta}, Allow, ""},
		{"a tenant admin may not call a platform tool", Call{Actor: acmeAdmin, Tool: platformTool}, Deny, "tenant"},
		{"a tenant admin may not make a platform-wide call", Call{Actor: acmeAdmin, Tool: adminTool, Target: Target{Platform: true}}, Deny, "tenant"},
		{"the platform itself may call a platform tool", Call{Actor: system, Tool: platformTool}, Allow, ""},
		{"a user reaches its own pod", Call{Actor: user, Tool: read, Target: Target{TenantID: "acme", OwnerID: "u1"}}, Allow, ""},
		{"a user may not reach another user's pod", Call{Actor: pro, Tool: read, Target: Target{TenantID: "acme", OwnerID: "u1"}}, Deny, "ownership"},
		{"an admin reaches every pod of its tenant", Call{Actor: acmeAdmin, Tool: read, Target: Target{TenantID: "acme", OwnerID: "u1"}}, Allow, ""},
		{"a token is not the owner of a user's pod", Call{Actor: actor.Actor{Kind: actor.KindToken, ID: "u1", TenantID: "acme", Role: actor.RoleUser},
			Tool: read, Target: Target{TenantID: "acme", OwnerID: "u1"}}, Deny, "ownership"},
		{"calls within the rate limit pass", Call{Actor: user, Tool: read, Target: acme, RateCount: 120, RateLimit: 120}, Allow, ""},
		{"calls over the rate limit are refused", Call{Actor: user, Tool: read, Target: acme, RateCount: 121, RateLimit: 120}, Deny, "rate"},
		{"reads of a LIVE tenant need no confirmation", Call{Actor: user, Tool: read, Target: acmeLive}, Allow, ""},
		{"a mutation of a LIVE tenant needs confirmation", Call{Actor: acmeAdmin, Tool: adminTool, Target: acmeLive}, NeedsConfirmation, "mode"},
		{"a wrong confirmation is not enough", Call{Actor: acmeAdmin, Tool: adminTool, Target: acmeLive, Confirm: "yes"}, NeedsConfirmation, "mode"},
		{"naming the tenant confirms", Call{Actor: acmeAdmin, Tool: adminTool, Target: acmeLive, Confirm: "acme"}, Allow, ""},
		{"a visitor's public mutation of a LIVE tenant needs no confirmation", Call{Actor: visitor, Tool: publicMutation, Target: acmeLive}, Allow, ""},
		{"a mutation of a SANDBOX tenant needs no confirmation", Call{Actor: acmeAdmin, Tool: adminTool, Target: acme}, Allow, ""},
		{"the agent's spending call needs approval when no rule is read", Call{Actor: agent, Tool: spend, Target: acme}, NeedsApproval, "approval"},
		{"the agent's reads never wait", Call{Actor: agent, Tool: read, Target: acme, Agent: AgentRule{Rule: AgentAlways}}, Allow, ""},
		{"always: every change of the agent waits", Call{Actor: agent, Tool: adminTool, Target: acme, Agent: AgentRule{Rule: AgentAlways}}, NeedsApproval, "approval"},
		{"never: the agent's spending passes", Call{Actor: agent, Tool: spend, Target: acme, Estimate: 900_000_000, Agent: AgentRule{Rule: AgentNever}}, Allow, ""},
		{"above_cost: under the threshold passes", Call{Actor: agent, Tool: spend, Target: acme, Estimate: 10_000_000, Agent: AgentRule{Rule: AgentAboveCost, Above: 10_000_000}}, Allow, ""},
		{"above_cost: over the threshold waits", Call{Actor: agent, Tool: spend, Target: acme, Estimate: 10_000_001, Agent: AgentRule{Rule: AgentAboveCost, Above: 10_000_000}}, NeedsApproval, "approval"},
		{"destructive: a stop waits", Call{Actor: agent, Tool: Tool{Name: "stop_pod", MinRole: actor.RoleUser, Destructive: true}, Target: acme, Agent: AgentRule{Rule: AgentDestructive}}, NeedsApproval, "approval"},
		{"destructive: a deploy passes", Call{Actor: agent, Tool: spend, Target: acme, Estimate: 900_000_000, Agent: AgentRule{Rule: AgentDestructive}}, Allow, ""},
		{"an unknown rule makes the agent's changes wait", Call{Actor: agent, Tool: adminTool, Target: acme, Agent: AgentRule{Rule: "sometimes"}}, NeedsApproval, "approval"},
		{"an approved spending call of the agent passes", Call{Actor: agent, Tool: spend, Target: acme, Approved: true}, Allow, ""},
		{"a user's spending call needs no approval", Call{Actor: user, Tool: spend, Target: acme}, Allow, ""},
		{"a user's spending call under the threshold passes", Call{Actor: user, Tool: spend, Target: acme, Estimate: 5_000_000, ApprovalAbove: 5_000_000}, Allow, ""},
		{"a user's spending call over the threshold needs approval", Call{Actor: user, Tool: spend, Target: acme, Estimate: 5_000_001, ApprovalAbove: 5_000_000}, NeedsApproval, "approval"},
		{"an approved call over the threshold passes", Call{Actor: user, Tool: spend, Target: acme, Estimate: 9_000_000, ApprovalAbove: 5_000_000, Approved: true}, Allow, ""},
		{"a POD Admin's spending call is never held by the threshold", Call{Actor: acmeAdmin, Tool: spend, Target: acme, Estimate: 9_000_000, ApprovalAbove: 5_000_000}, Allow, ""},
		{"a threshold of zero holds nothing", Call{Actor: user, Tool: spend, Target: acme, Estimate: 9_000_000}, Allow, ""},
		{"the threshold holds only spending tools", Call{Actor: user, Tool: read, Target: acme, Estimate: 9_000_000, ApprovalAbove: 5_000_000}, Allow, ""},
		{"a token without scopes reaches what its role allows", Call{Actor: readToken(""), Tool: adminTool, Target: acme}, Allow, ""},
		{"a read-scoped token reads", Call{Actor: readToken("read"), Tool: read, Target: acme}, Allow, ""},
		{"a read-scoped token may not mutate", Call{Actor: readToken("read"), Tool: adminTool, Target: acme}, Deny, "scope"},
		{"a toolset scope covers its tools", Call{Actor: readToken("parameters"), Tool: Tool{Name: "set_parameter", Group: "parameters", MinRole: actor.RolePodAdmin}, Target: acme}, Allow, ""},
		{"a toolset scope covers no other toolset", Call{Actor: readToken("offers"), Tool: Tool{Name: "set_parameter", Group: "parameters", MinRole: actor.RolePodAdmin}, Target: acme}, Deny, "scope"},
		{"a tool-name scope covers that tool", Call{Actor: readToken("read set_parameter"), Tool: adminTool, Target: acme}, Allow, ""},
		{"scopes never raise a role", Call{Actor: actor.Actor{Kind: actor.KindToken, ID: "t", TenantID: "acme", Role: actor.RoleUser, Scope: "set_parameter"}, Tool: adminTool, Target: acme}, Deny, "role"},
		{"scopes bind tokens, not users", Call{Actor: actor.Actor{Kind: actor.KindUser, ID: "a", TenantID: "acme", Role: actor.RolePodAdmin, Scope: "read"}, Tool: adminTool, Target: acme}, Allow, ""},
		{"an admin without MFA passes when MFA is not required", Call{Actor: acmeAdmin, Tool: adminTool, Target: acme}, Allow, ""},
		{"an admin without MFA is refused when it is required", Call{Actor: acmeAdmin, Tool: adminTool, Target: acme, MFARequired: true}, Deny, "mfa"},
		{"an admin without MFA may still enrol", Call{Actor: acmeAdmin, Tool: Tool{Name: "enroll_mfa", MinRole: actor.RoleUser, MFAExempt: true}, Target: acme, MFARequired: true}, Allow, ""},
		{"a tool is exempt from MFA by its definition, not its name", Call{Actor: acmeAdmin, Tool: Tool{Name: "enroll_mfa", MinRole: actor.RoleUser}, Target: acme, MFARequired: true}, Deny, "mfa"},
		{"an admin who signed in with MFA passes", Call{Actor: withMFA(acmeAdmin), Tool: adminTool, Target: acme, MFARequired: true}, Allow, ""},
		{"the admin MFA rule leaves users alone", Call{Actor: user, Tool: read, Target: acme, MFARequired: true}, Allow, ""},
		{"the admin MFA rule leaves API tokens alone", Call{Actor: operator, Tool: adminTool, Target: beta, MFARequired: true}, Allow, ""},
		{"role is checked before tenant", Call{Actor: user, Tool: adminTool, Target: beta}, Deny, "role"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Evaluate(c.call)
			if v.Decision != c.want || v.Rule != c.rule {
				t.Fatalf("verdict = %+v, want %s by rule %q", v, c.want, c.rule)
			}
			if v.Decision != Allow && v.Reason == "" {
				t.Fatal("a refusal must give a reason")
			}
			if v.Decision == NeedsConfirmation && v.Confirm != c.call.Target.TenantID {
				t.Fatalf("confirm phrase = %q", v.Confirm)
			}
		})
	}
}

func readToken(scope string) actor.Actor {
	return actor.Actor{Kind: actor.KindToken, ID: "t3", TenantID: "acme", Role: actor.RolePodAdmin, Scope: scope}
}

func withMFA(a actor.Actor) actor.Actor { a.MFA = true; return a }

func TestVisible(t *testing.T) {
	acmeAdmin := actor.Actor{Kind: actor.KindUser, ID: "a1", TenantID: "acme", Role: actor.RolePodAdmin}
	user := actor.Actor{Kind: actor.KindUser, ID: "u1", TenantID: "acme", Role: actor.RoleUser}
	operator := actor.Actor{Kind: actor.KindUser, ID: "o", TenantID: PlatformTenant, Role: actor.RolePodAdmin}
	admin := Tool{Name: "set_parameter", MinRole: actor.RolePodAdmin}
	platform := Tool{Name: "create_tenant", MinRole: actor.RolePodAdmin, Platform: true}
	cases := []struct {
		name string
		a    actor.Actor
		t    Tool
		want bool
	}{
		{"admin tools are invisible to users", user, admin, false},
		{"admin tools are visible to admins", acmeAdmin, admin, true},
		{"platform tools are invisible to tenant admins", acmeAdmin, platform, false},
		{"platform tools are visible to operators", operator, platform, true},
		{"tools outside a token's scopes are invisible", readToken("read"), admin, false},
		{"tools inside a token's scopes are visible", readToken("read set_parameter"), admin, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Visible(c.a, c.t); got != c.want {
				t.Fatalf("Visible = %v", got)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	if v := Budget("deploy_pod", true, 3*money.Dollar, 10*money.Dollar); !v.Allowed() {
		t.Fatalf("a held reservation must allow: %+v", v)
	}
	for _, tc := range []struct {
		name                string
		estimate, remaining money.Amount
		reason              string
	}{
		{"whole amounts show cents", 3 * money.Dollar, 1_500_000,
			"deploy_pod would cost about $3.00 but only $1.50 of the budget remains"},
		{"sub-cent amounts are not rounded away", 4_000, 0,
			"deploy_pod would cost about $0.004 but only $0.00 of the budget remains"},
		{"large amounts are grouped", 12_345 * money.Dollar, 9_999_990_000,
			"deploy_pod would cost about $12,345.00 but only $9,999.99 of the budget remains"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Budget("deploy_pod", false, tc.estimate, tc.remaining)
			if v.Decision != Deny || v.Rule != "budget" || v.Reason != tc.reason {
				t.Fatalf("verdict = %+v; want reason %q", v, tc.reason)
			}
		})
	}
}

// TestAgentRuleWaits: which calls of the agent each approval rule holds.
func TestAgentRuleWaits(t *testing.T) {
	ten := 10 * money.Dollar
	cases := []struct {
		name        string
		rule        string
		cost        money.Amount
		destructive bool
		want        bool
	}{
		{"always makes a free call wait", AgentAlways, 0, false, true},
		{"never lets a destructive costly call through", AgentNever, 1000 * money.Dollar, true, false},
		{"above cost lets a call at the threshold through", AgentAboveCost, ten, false, false},
		{"above cost makes a call a micro-dollar over wait", AgentAboveCost, ten + 1, false, true},
		{"above cost does not look at destructiveness", AgentAboveCost, 0, true, false},
		{"destructive makes a destructive free call wait", AgentDestructive, 0, true, true},
		{"destructive lets a costly constructive call through", AgentDestructive, 1000 * money.Dollar, false, false},
		{"an unknown rule makes every call wait", "sometimes", 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (AgentRule{Rule: c.rule, Above: ten}).Waits(c.cost, c.destructive); got != c.want {
				t.Fatalf("Waits(%s, %s, %v) = %v", c.rule, c.cost, c.destructive, got)
			}
		})
	}
}
