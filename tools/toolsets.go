package tools

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
)
