package tools

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/policies"
)

// UserList is the output of list_users.
type UserList struct {
	Users []auth.User `json:"users"`
}

// CreateUserInput is the input of create_user.
type CreateUserInput struct {
	Control
	TenantRef
	Email    string     `json:"email" jsonschema:"email address, unique across the platform"`
	Name     string     `json:"name" jsonschema:"display name"`
	Role     actor.Role `json:"role" jsonschema:"user, pro_user, enterprise_user or pod_admin (at most the caller's own)"`
	Password string     `json:"password" audit:"redact" jsonschema:"initial password: at least 12 characters mixing letters with digits or symbols, not a common password, and hard to guess (auth.password_min_score)"`
}

// SetRoleInput is the input of set_user_role.
type SetRoleInput struct {
	Control
	TenantRef
	ID   string     `json:"id" jsonschema:"user id"`
	Role actor.Role `json:"role" jsonschema:"new role (at most the caller's own)"`
}

// MFAEnrolment is the output of enroll_mfa: the secret to type into an
// authenticator app, or the otpauth:// URL to show as a QR code.
type MFAEnrolment struct {
	Secret     string `json:"secret" jsonschema:"base32 TOTP secret; shown only in this answer"`
	OTPAuthURL string `json:"otpauth_url" jsonschema:"otpauth:// URL for a QR code"`
	Next       string `json:"next"`
}

// MFACodeInput carries a current TOTP code.
type MFACodeInput struct {
	Control
	Code string `json:"code" audit:"redact" jsonschema:"the 6-digit code the authenticator app shows now"`
}

// MFAState is the output of confirm_mfa and disable_mfa.
type MFAState struct {
	Enabled bool `json:"enabled"`
}

// selfUser refuses MFA management to anything but a signed-in user: an
// API token or the agent has no second factor of its own.
func selfUser(c *Call) error {
	if c.Actor.Kind != actor.KindUser {
		return fault.Forbidden("only a signed-in user manages their own MFA; %s credentials cannot", c.Actor.Kind)
	}
	return nil
}

// TokenList is the output of list_api_tokens.
type TokenList struct {
	Tokens []auth.APIToken `json:"tokens"`
}

// CreateTokenInput is the input of create_api_token.
type CreateTokenInput struct {
	Control
	TenantRef
	Name   string     `json:"name" jsonschema:"what the token is for"`
	Role   actor.Role `json:"role" jsonschema:"role the token acts with (at most the caller's own)"`
	Scopes []string   `json:"scopes,omitempty" jsonschema:"optional scopes narrowing the token: read (every read-only tool), a toolset (tenants, parameters, users, tokens, audit, offers) or a tool name; none means every tool the role allows"`
	TTL    string     `json:"ttl,omitempty" jsonschema:"lifetime such as 720h; empty for no expiry"`
}

// NewToken is the output of create_api_token: the secret is shown once.
type NewToken struct {
	Token  auth.APIToken `json:"token"`
	Secret string        `json:"secret" jsonschema:"the bearer token; shown only in this answer"`
}

// RevokeTokenInput is the input of revoke_api_token.
type RevokeTokenInput struct {
	Control
	ID string `json:"id" jsonschema:"token id"`
}

// Revoked is the output of revoke_api_token.
type Revoked struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}

// Tool names of the users and tokens toolsets, for the packages that call
// them by name.
const (
	ToolListUsers      = "list_users"
	ToolCreateUser     = "create_user"
	ToolSetUserRole    = "set_user_role"
	ToolEnrollMFA      = "enroll_mfa"
	ToolConfirmMFA     = "confirm_mfa"
	ToolDisableMFA     = "disable_mfa"
	ToolListAPITokens  = "list_api_tokens"
	ToolCreateAPIToken = "create_api_token"
	ToolRevokeAPIToken = "revoke_api_token"
)

// registerIdentityTools registers the users, tokens and signup toolsets. A new
// token's scopes are checked against the tools registered in r when it is
// created.
func registerIdentityTools(r *Registry, s Services) {
	registerToolset(r, ToolsetUsers,
		listUsers(s), createUser(s), setUserRole(s), enrollMFA(s), confirmMFA(s), disableMFA(s))
	registerToolset(r, ToolsetTokens,
		listAPITokens(s), createAPIToken(s, r.Tools), revokeAPIToken(s))
	registerSignupTools(r, s)
}

func listUsers(s Services) Def[TenantInput, UserList] {
	return Def[TenantInput, UserList]{
		Name: ToolListUsers, Title: "List users", Group: ToolsetUsers, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "List the users of a tenant with their roles.",
		Method:      http.MethodGet, Path: "/users",
		Handle: func(ctx context.Context, c *Call, _ *TenantInput) (UserList, error) {
			us, err := s.Identity.Users(ctx, c.Tenant.ID)
			return UserList{Users: us}, err
		},
	}
}

func createUser(s Services) Def[CreateUserInput, auth.User] {
	return Def[CreateUserInput, auth.User]{
		Name: ToolCreateUser, Title: "Create a user", Group: ToolsetUsers, MinRole: actor.RolePodAdmin,
		Description: "Create a user in a tenant with a role (at most the caller's own) and an initial password.",
		Method:      http.MethodPost, Path: "/users", Status: http.StatusCreated,
		Preview: func(ctx context.Context, c *Call, in *CreateUserInput) (Preview, error) {
			return Preview{Effect: fmt.Sprintf("create user %s (%s) in tenant %s", in.Email, in.Role, c.Tenant.ID)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *CreateUserInput) (auth.User, error) {
			return s.Identity.CreateUser(ctx, c.Actor, auth.NewUser{TenantID: c.Tenant.ID, Email: in.Email, Name: in.Name,
				Role: in.Role, Password: in.Password, Verified: true})
		},
	}
}

func setUserRole(s Services) Def[SetRoleInput, auth.User] {
	return Def[SetRoleInput, auth.User]{
		Name: ToolSetUserRole, Title: "Change a user's role", Group: ToolsetUsers, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Change a user's role (User, Pro User, Enterprise User, POD Admin); nobody may grant above their own role or change their own.",
		Method:      http.MethodPut, Path: "/users/{id}/role",
		Preview: func(ctx context.Context, c *Call, in *SetRoleInput) (Preview, error) {
			return Preview{Effect: fmt.Sprintf("give user %s the role %s", in.ID, in.Role)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *SetRoleInput) (auth.User, error) {
			return s.Identity.SetRole(ctx, c.Actor, c.Tenant.ID, in.ID, in.Role)
		},
	}
}

func enrollMFA(s Services) Def[Control, MFAEnrolment] {
	return Def[Control, MFAEnrolment]{
		Name: ToolEnrollMFA, Title: "Enrol in MFA", Group: ToolsetUsers, MinRole: actor.RoleUser, MFAExempt: true,
		Description: "Start TOTP multi-factor enrolment for the signed-in user: returns the secret and an otpauth:// URL " +
			"for an authenticator app. MFA turns on once confirm_mfa sees a valid code.",
		Method: http.MethodPost, Path: "/me/mfa",
		AuditResult: func(*MFAEnrolment) any { return map[string]string{"secret": "[redacted]"} },
		Preview: func(ctx context.Context, c *Call, _ *Control) (Preview, error) {
			return Preview{Effect: "start TOTP enrolment for user " + c.Actor.ID}, selfUser(c)
		},
		Handle: func(ctx context.Context, c *Call, _ *Control) (MFAEnrolment, error) {
			if err := selfUser(c); err != nil {
				return MFAEnrolment{}, err
			}
			secret, url, err := s.Identity.EnrollTOTP(ctx, c.Actor.ID)
			return MFAEnrolment{Secret: secret, OTPAuthURL: url, Next: "call confirm_mfa with the code your app shows"}, err
		},
	}
}

func confirmMFA(s Services) Def[MFACodeInput, MFAState] {
	return Def[MFACodeInput, MFAState]{
		Name: ToolConfirmMFA, Title: "Confirm MFA", Group: ToolsetUsers, MinRole: actor.RoleUser, MFAExempt: true,
		Description: "Turn TOTP multi-factor authentication on for the signed-in user with a code from the enrolled app; " +
			"from then on signing in asks for a code.",
		Method: http.MethodPost, Path: "/me/mfa/confirm",
		Preview: func(ctx context.Context, c *Call, _ *MFACodeInput) (Preview, error) {
			return Preview{Effect: "turn MFA on for user " + c.Actor.ID}, selfUser(c)
		},
		Handle: func(ctx context.Context, c *Call, in *MFACodeInput) (MFAState, error) {
			if err := selfUser(c); err != nil {
				return MFAState{}, err
			}
			if err := s.Identity.ConfirmTOTP(ctx, c.Actor.ID, in.Code); err != nil {
				return MFAState{}, err
			}
			return MFAState{Enabled: true}, nil
		},
	}
}

func disableMFA(s Services) Def[MFACodeInput, MFAState] {
	return Def[MFACodeInput, MFAState]{
		Name: ToolDisableMFA, Title: "Disable MFA", Group: ToolsetUsers, MinRole: actor.RoleUser, Destructive: true,
		Description: "Turn TOTP multi-factor authentication off for the signed-in user, given a current code.",
		Method:      http.MethodPost, Path: "/me/mfa/disable",
		Preview: func(ctx context.Context, c *Call, _ *MFACodeInput) (Preview, error) {
			return Preview{Effect: "turn MFA off for user " + c.Actor.ID}, selfUser(c)
		},
		Handle: func(ctx context.Context, c *Call, in *MFACodeInput) (MFAState, error) {
			if err := selfUser(c); err != nil {
				return MFAState{}, err
			}
			return MFAState{Enabled: false}, s.Identity.DisableTOTP(ctx, c.Actor.ID, in.Code)
		},
	}
}

func listAPITokens(s Services) Def[TenantInput, TokenList] {
	return Def[TenantInput, TokenList]{
		Name: ToolListAPITokens, Title: "List API tokens", Group: ToolsetTokens, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "List a tenant's API tokens (never their secrets): name, role, creator, expiry, last use, revocation.",
		Method:      http.MethodGet, Path: "/tokens",
		Handle: func(ctx context.Context, c *Call, _ *TenantInput) (TokenList, error) {
			ts, err := s.Identity.ListAPITokens(ctx, c.Tenant.ID)
			if ts == nil {
				ts = []auth.APIToken{}
			}
			return TokenList{Tokens: ts}, err
		},
	}
}

func createAPIToken(s Services, registered func() []Meta) Def[CreateTokenInput, NewToken] {
	return Def[CreateTokenInput, NewToken]{
		Name: ToolCreateAPIToken, Title: "Create an API token", Group: ToolsetTokens, MinRole: actor.RolePodAdmin,
		Description: "Create an API token for MCP clients and scripts, scoped to a tenant and a role no higher than the caller's. The secret is shown once.",
		Method:      http.MethodPost, Path: "/tokens", Status: http.StatusCreated,
		AuditResult: func(out *NewToken) any { return out.Token },
		Preview: func(ctx context.Context, c *Call, in *CreateTokenInput) (Preview, error) {
			return Preview{Effect: fmt.Sprintf("create API token %q with role %s for tenant %s", in.Name, in.Role, c.Tenant.ID)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *CreateTokenInput) (NewToken, error) {
			var ttl time.Duration
			if in.TTL != "" {
				d, err := time.ParseDuration(in.TTL)
				if err != nil || d <= 0 {
					return NewToken{}, fault.Invalid("ttl", "want a positive duration like 720h, got %q", in.TTL)
				}
				ttl = d
			}
			if err := checkScopes(registered(), in.Scopes); err != nil {
				return NewToken{}, err
			}
			tok, secret, err := s.Identity.CreateAPIToken(ctx, c.Actor, c.Tenant.ID, in.Role, in.Name, in.Scopes, ttl)
			return NewToken{Token: tok, Secret: secret}, err
		},
	}
}

func revokeAPIToken(s Services) Def[RevokeTokenInput, Revoked] {
	return Def[RevokeTokenInput, Revoked]{
		Name: ToolRevokeAPIToken, Title: "Revoke an API token", Group: ToolsetTokens, MinRole: actor.RolePodAdmin, Destructive: true, Idempotent: true,
		Description: "Revoke an API token at once; calls made with it are refused from then on.",
		Method:      http.MethodDelete, Path: "/tokens/{id}",
		Preview: func(ctx context.Context, c *Call, in *RevokeTokenInput) (Preview, error) {
			return Preview{Effect: "revoke API token " + in.ID}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *RevokeTokenInput) (Revoked, error) {
			if err := s.Identity.RevokeAPIToken(ctx, c.Actor, in.ID); err != nil {
				return Revoked{}, err
			}
			return Revoked{ID: in.ID, Revoked: true}, nil
		},
	}
}

// checkScopes accepts "read", a registered toolset or a registered tool.
func checkScopes(registered []Meta, scopes []string) error {
	known := map[string]bool{policies.ScopeRead: true}
	for _, m := range registered {
		known[m.Name], known[string(m.Group)] = true, true
	}
	for i, sc := range scopes {
		if !known[sc] {
			return fault.Invalid(fmt.Sprintf("scopes[%d]", i), "unknown scope %q: want read, a toolset or a tool name", sc)
		}
	}
	return nil
}
