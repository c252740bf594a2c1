package auth

import (
	"context"
	"time"

	"github.com/gpubroker/pod/actor"
)

// Repo keeps users and their credentials. Package store implements it; the
// rules (what may be issued, rotated or revoked, and when) stay here.
type Repo interface {
	CreateUser(ctx context.Context, u User) error
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	UsersOfTenant(ctx context.Context, tenantID string) ([]User, error)
	SetUserRole(ctx context.Context, id string, role actor.Role) (User, error)
	CountUsers(ctx context.Context, tenantID string, role actor.Role) (int, error)

	// SigningKeys returns the active key and the keys retired after
	// retiredAfter, newest first.
	SigningKeys(ctx context.Context, retiredAfter time.Time) ([]SigningKey, error)
	// AddSigningKey makes k the active key. With retire, the active key
	// (if any) is retired at k.CreatedAt in the same transaction; without,
	// an existing active key is a conflict.
	AddSigningKey(ctx context.Context, k SigningKey, retire bool) error

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// RotateRefreshToken marks the token oldHash used and inserts next, in
	// one transaction; it is a conflict when oldHash was already used or
	// revoked (another caller got there first).
	RotateRefreshToken(ctx context.Context, oldHash string, usedAt time.Time, next RefreshToken) error
	// RevokeRefreshFamily revokes every token of a family not yet revoked.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	// DeleteExpiredRefreshTokens removes tokens that expired before t.
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error)

	// RecordLoginFailure notes a failed sign-in under each key (the
	// account, the client address) at t.
	RecordLoginFailure(ctx context.Context, keys []string, at time.Time) error
	// LoginFailures counts a key's failures since t.
	LoginFailures(ctx context.Context, key string, since time.Time) (int, error)
	// ClearLoginFailures forgets a key's failures (after a good sign-in).
	ClearLoginFailures(ctx context.Context, key string) error

	UserMFA(ctx context.Context, userID string) (MFA, error)
	// PutUserMFA creates or replaces a user's enrolment.
	PutUserMFA(ctx context.Context, m MFA) error
	// UseMFAStep records step as the last accepted one (and, with enable,
	// enables MFA), and is a conflict unless step is later than the last.
	UseMFAStep(ctx context.Context, userID string, step int64, enable bool, at time.Time) error
	DeleteUserMFA(ctx context.Context, userID string) error

	CreateAPIToken(ctx context.Context, t APIToken) error
	APIToken(ctx context.Context, id string) (APIToken, error)
	// APITokens lists a tenant's tokens, newest first.
	APITokens(ctx context.Context, tenantID string) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
	// TouchAPIToken sets last_used_at to at unless it is already later
	// than notBefore, so a busy token costs one write a minute.
	TouchAPIToken(ctx context.Context, id string, at, notBefore time.Time) error

	// InTx runs fn in one transaction that every call made with the
	// context it receives joins (mail queued there included).
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	CreateVerification(ctx context.Context, v EmailVerification) error
	// Verification finds a link by the hash of its token.
	Verification(ctx context.Context, hash string) (EmailVerification, error)
	// CountVerifications counts the links made for a user since t.
	CountVerifications(ctx context.Context, userID string, since time.Time) (int, error)
	// ConfirmEmail uses the link hash at t, marks its user's address
	// verified and retires the user's other unused links, in one
	// transaction; it is a conflict when the link was already used.
	ConfirmEmail(ctx context.Context, hash string, at time.Time) error
	// SetEmailVerified marks a user's address verified; with
	// dropPassword it also removes the user's password.
	SetEmailVerified(ctx context.Context, userID string, at time.Time, dropPassword bool) error

	// CreateIdentity links a user to an outside account; a subject
	// already linked is a conflict.
	CreateIdentity(ctx context.Context, id Identity) error
	Identity(ctx context.Context, provider, subject string) (Identity, error)

	// CreateOAuthState stores a sign-in under way and deletes those that
	// expired before it began.
	CreateOAuthState(ctx context.Context, st OAuthState) error
	// TakeOAuthState deletes and returns the sign-in of a state hash, so
	// a state is used once.
	TakeOAuthState(ctx context.Context, hash string) (OAuthState, error)
	// CountOAuthStates counts the sign-ins a client address began since t
	// that are still under way.
	CountOAuthStates(ctx context.Context, clientIP string, since time.Time) (int, error)
}

// SigningKey is one RS256 key pair for access tokens. Sealed is the
// PKCS #8 PEM of the private key sealed under aad "signing-key/<kid>".
type SigningKey struct {
	KID       string
	Sealed    []byte
	CreatedAt time.Time
	// RetiredAt is zero while the key signs; once retired it only
	// verifies, until tokens it signed have expired.
	RetiredAt time.Time
}

// RefreshToken is one link of a refresh-token family. Only the SHA-256 of
// the opaque token is stored.
type RefreshToken struct {
	Hash     string
	FamilyID string
	UserID   string
	// AMR lists the methods the family's login used ("pwd", "otp"), so
	// refreshed access tokens keep saying how the session began.
	AMR       []string
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
	CreatedAt time.Time
}

// MFA is a user's TOTP enrolment. Secret is sealed under aad
// "totp/<user id>"; it is pending until a first code confirms it.
type MFA struct {
	UserID    string
	Secret    []byte
	Enabled   bool
	LastStep  int64
	UpdatedAt time.Time
}

// APIToken is a long-lived credential for scripts and MCP clients. Its
// plaintext ("gpb_<id>_<secret>") is shown once; only the SHA-256 of the
// secret part is kept.
type APIToken struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Role       actor.Role `json:"role"`
	Scopes     []string   `json:"scopes"`
	SecretHash string     `json:"-"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at,omitzero"`
	RevokedAt  time.Time  `json:"revoked_at,omitzero"`
	LastUsedAt time.Time  `json:"last_used_at,omitzero"`
}

// EmailVerification is the stored half of a link that confirms a user's
// address. Only the SHA-256 of its token is kept; the link works once.
type EmailVerification struct {
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Identity links a user to an account at an outside identity provider
// (Google, GitHub, Cognito) by the provider's stable subject, which
// outlives a change of address there.
type Identity struct {
	Provider string
	Subject  string
	UserID   string
	// Email is the address the provider gave when the link was made.
	Email     string
	CreatedAt time.Time
}

// OAuthState is the server's half of one OAuth sign-in under way: the
// browser holds the state in a cookie, the store its hash with the
// provider and the PKCE verifier, until the callback takes it.
type OAuthState struct {
	Hash      string
	Provider  string
	Verifier  string
	ClientIP  string
	CreatedAt time.Time
	ExpiresAt time.Time
}
