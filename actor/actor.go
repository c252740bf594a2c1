// Package actor says who is calling: a user, an API token, the agent acting for
// an admin, a Slack admin or the platform itself, with the role and tenant the
// call runs under. It holds no rules about what an actor may do; those are in
// package policies.
package actor

import (
	"context"
	"fmt"
	"strings"
)

// Kind tells what sort of caller an actor is.
type Kind string

// Kinds of actor.
const (
	KindUser   Kind = "user"
	KindToken  Kind = "token"
	KindAgent  Kind = "agent"
	KindSlack  Kind = "slack"
	KindSystem Kind = "system"
	// KindProcessor is a payment processor (Stripe) telling the platform
	// what happened, through a webhook whose signature was verified.
	KindProcessor Kind = "processor"
	// KindAnonymous is a caller who has not signed in (a visitor
	// registering, or reading the plans); it reaches only public tools.
	KindAnonymous Kind = "anonymous"
)

// Role is one of the four RBAC roles (R19.7), ordered by reach.
type Role string

// Roles, least to most.
const (
	RoleUser           Role = "user"
	RoleProUser        Role = "pro_user"
	RoleEnterpriseUser Role = "enterprise_user"
	RolePodAdmin       Role = "pod_admin"
)

// Roles lists every role from least to most.
var Roles = []Role{RoleUser, RoleProUser, RoleEnterpriseUser, RolePodAdmin}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() >= 0 }

// AtLeast reports whether r reaches at least min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// ParseRole accepts a role's canonical spelling.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("unknown role %q: want one of user, pro_user, enterprise_user, pod_admin", s)
	}
	return r, nil
}

// Actor is the caller of an operation.
type Actor struct {
	Kind     Kind   `json:"kind"`
	ID       string `json:"id"`
	TenantID string `json:"tenant_id,omitempty"`
	Role     Role   `json:"role"`
	Name     string `json:"name,omitempty"`
	// MFA is set when a user signed in with a second factor.
	MFA bool `json:"mfa,omitempty"`
	// Scope narrows an API token to some tools: space-separated scopes as
	// in OAuth 2.0 ("read", a toolset such as "offers", or a tool name);
	// empty means every tool the role allows.
	Scope string `json:"scope,omitempty"`
}

// Scopes splits Scope.
func (a Actor) Scopes() []string { return strings.Fields(a.Scope) }

// System is the platform acting on its own behalf (start-up seeding,
// schedulers). It holds the admin role and no tenant.
func System(name string) Actor {
	return Actor{Kind: KindSystem, ID: name, Role: RolePodAdmin, Name: name}
}

// Processor is a payment processor reporting through its verified
// webhook, named by name ("stripe"). It holds no role: what it reports is
// applied by the billing rules, never as a tool call of its own.
func Processor(name string) Actor {
	return Actor{Kind: KindProcessor, ID: name, Name: name}
}

// Anonymous is a visitor who has not signed in, known by the address it
// calls from (which rate limits count), in the tenant that takes visitors.
// It has no role.
func Anonymous(tenantID, addr string) Actor {
	return Actor{Kind: KindAnonymous, ID: addr, TenantID: tenantID, Name: "visitor"}
}

// String renders the actor for logs and audit: kind:id.
func (a Actor) String() string { return string(a.Kind) + ":" + a.ID }

type ctxKey struct{}

// ContextKey is the key an actor travels under in a context. A context
// type that already carries the caller (a face's per-request context) may
// answer it from its own Value method instead of being wrapped once more.
var ContextKey any = ctxKey{}

// With returns a context carrying a.
func With(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// From returns the actor carried by ctx, if any.
func From(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(ctxKey{}).(Actor)
	return a, ok
}
