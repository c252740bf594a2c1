package tools

import "fmt"

// Toolset groups tools by domain. An API token scope may name a toolset to
// reach all of its tools; policies receives the name as a string for that
// match (it cannot import tools).
type Toolset string

// The toolsets.
const (
	ToolsetTenants    Toolset = "tenants"    // tenants (PODs) and their mode
	ToolsetParameters Toolset = "parameters" // parameter values, history, export and import
	ToolsetUsers      Toolset = "users"      // users, their roles and their MFA
	ToolsetTokens     Toolset = "tokens"     // API tokens
	ToolsetAudit      Toolset = "audit"      // the audit log
	ToolsetOffers     Toolset = "offers"     // offers, providers and prices
	ToolsetApprovals  Toolset = "approvals"  // calls held for an admin's decision
	ToolsetPods       Toolset = "pods"       // GPU pods: drafts, quotes, lifecycle, history
	ToolsetMail       Toolset = "mail"       // the mail the platform sent (the SANDBOX mailbox)
	ToolsetBilling    Toolset = "billing"    // plans, payment, subscriptions, usage and cost
	ToolsetSignup     Toolset = "signup"     // registration and email verification, open to visitors
	ToolsetAgent      Toolset = "agent"      // the procurement agent: its decisions, control and budget
	ToolsetNotify     Toolset = "notify"     // what the agent tells the tenant's admins
	ToolsetExternal   Toolset = "external"   // tools of the external MCP servers a tenant names
	ToolsetSystem     Toolset = "system"     // the platform's plumbing: event stream, Slack and webhook deliveries
)

// listed is a tool definition with its input and output types erased, so
// one toolset can list tools of different types.
type listed interface {
	group() Toolset
	register(r *Registry) error
}

func (d Def[In, Out]) group() Toolset             { return d.Group }
func (d Def[In, Out]) register(r *Registry) error { return Register(r, d) }

// registerToolset registers the tools of one toolset, each built by its
// own constructor. A tool filed under another toolset, like any bad
// definition, stops start-up.
func registerToolset(r *Registry, ts Toolset, tools ...listed) {
	for _, t := range tools {
		if t.group() != ts {
			panic(fmt.Sprintf("tool of toolset %q listed under %q", t.group(), ts))
		}
		if err := t.register(r); err != nil {
			panic(err)
		}
	}
}
