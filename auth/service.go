package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tenant"
)

// Sealer seals and opens small secrets bound to where they belong (aad).
// secrets.Envelope satisfies it.
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// Defaults of Options.
const (
	DefaultIssuer     = "gpubroker"
	DefaultAudience   = "gpubroker-api"
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// DefaultRetiredKeyTTL is how long a retired signing key still
	// verifies: the longest access-token lifetime the parameter
	// auth.access_token_ttl allows (24h), plus an hour of margin.
	DefaultRetiredKeyTTL = 25 * time.Hour
)

// Options configure a Service. Zero fields take the defaults.
type Options struct {
	Issuer   string // "iss" of access tokens; DefaultIssuer
	Audience string // "aud" of access tokens; DefaultAudience
	// AccessTTL and RefreshTTL return the current lifetimes (the
	// hot-reloaded parameters auth.access_token_ttl and
	// auth.refresh_token_ttl); they are called on every issue.
	AccessTTL  func() time.Duration
	RefreshTTL func() time.Duration
	// RetiredKeyTTL is how long a retired signing key keeps verifying; it
	// must cover the longest access-token lifetime.
	RetiredKeyTTL time.Duration
	// Cognito, when set, returns the current identity-provider settings;
	// with Provider "cognito", Authenticate accepts Cognito tokens instead
	// of built-in access tokens.
	Cognito func() CognitoConfig
	// CognitoClient returns the client of the Cognito user pools of an
	// AWS region, which registration calls when the provider is cognito.
	CognitoClient func(ctx context.Context, region string) (CognitoAPI, error)
	// OAuth, when set, returns the current Google and GitHub app
	// settings; sign-in with a provider is refused while its app is not
	// set.
	OAuth func() OAuthConfig
	// HTTPClient fetches Cognito's JWKS and talks to OAuth providers; a
	// client with a 10 s timeout by default.
	HTTPClient *http.Client
	// LoginLimit returns how many failed sign-ins an account may have in
	// a window before further attempts are refused (the parameters
	// auth.login_max_failures and auth.login_lockout_window); a client
	// address may have five times as many. Default 10 in 15 minutes.
	LoginLimit func() (maxFailures int, window time.Duration)
	// PasswordMinScore returns the least zxcvbn score a new password needs
	// (the parameter auth.password_min_score); DefaultPasswordMinScore
	// when nil.
	PasswordMinScore func() int
	// Mail queues the mail of registration (verification links, notices
	// to an address's owner) in the caller's transaction; registering is
	// refused without it.
	Mail Mailer
	// BaseURL returns the platform's public address (the parameter
	// platform.base_url), under which emailed links point.
	BaseURL func() string
	// VerificationTTL returns how long a verification link works (the
	// parameter auth.email_verification_ttl); DefaultVerificationTTL when
	// nil.
	VerificationTTL func() time.Duration
	// TOTPIssuer labels the account in authenticator apps.
	TOTPIssuer string
	Clock      func() time.Time
	Logger     *slog.Logger
}

// Service is the identity service: logins, sessions (access and refresh
// tokens), TOTP MFA, API tokens, and verification of every bearer
// credential. Instances sharing one database cooperate: keys, sessions and
// tokens live in the database and each instance caches only what it can
// reload.
type Service struct {
	repo   Repo
	sealer Sealer
	audit  audit.Log
	opt    Options
	log    *slog.Logger
	parser *jwt.Parser

	keys   keyRing
	cog    cognitoCache
	tokens tokenCache

	// bg owns the JWKS refresh goroutine; Close cancels it.
	bg     context.Context
	stopBG context.CancelFunc
}

// NewService returns the identity service over repo. sealer protects
// signing keys and TOTP secrets; log receives every auth event.
func NewService(repo Repo, sealer Sealer, log audit.Log, opts Options) *Service {
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.AccessTTL == nil {
		opts.AccessTTL = func() time.Duration { return DefaultAccessTTL }
	}
	if opts.RefreshTTL == nil {
		opts.RefreshTTL = func() time.Duration { return DefaultRefreshTTL }
	}
	if opts.RetiredKeyTTL <= 0 {
		opts.RetiredKeyTTL = DefaultRetiredKeyTTL
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.TOTPIssuer == "" {
		opts.TOTPIssuer = "GPUBROKER POD"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{repo: repo, sealer: sealer, audit: log, opt: opts, log: opts.Logger}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(opts.Issuer),
		jwt.WithAudience(opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(opts.Clock),
	)
	s.bg, s.stopBG = context.WithCancel(context.Background())
	return s
}

// Close stops background work (the Cognito JWKS refresher).
func (s *Service) Close() {
	s.stopBG()
	s.cog.close()
}

// clockSkew is the leeway on exp, nbf and iat, for instances whose clocks
// differ a little.
const clockSkew = 30 * time.Second

// now is the service clock in UTC, truncated to microseconds so that both
// database backends return exactly what was written.
func (s *Service) now() time.Time { return s.opt.Clock().UTC().Truncate(time.Microsecond) }

func (s *Service) accessTTL() time.Duration {
	if d := s.opt.AccessTTL(); d > 0 {
		return d
	}
	return DefaultAccessTTL
}

// PasswordPolicy is what a new password must be now.
func (s *Service) PasswordPolicy() PasswordPolicy {
	if s.opt.PasswordMinScore == nil {
		return PasswordPolicy{MinScore: DefaultPasswordMinScore}
	}
	return PasswordPolicy{MinScore: s.opt.PasswordMinScore()}
}

func (s *Service) refreshTTL() time.Duration {
	if d := s.opt.RefreshTTL(); d > 0 {
		return d
	}
	return DefaultRefreshTTL
}

// Sentinels that faces can test with errors.Is; the errors carrying them
// are also *fault.Error of kind unauthenticated.
var (
	// ErrMFARequired: the password was right and the account needs a TOTP
	// code; ask for one and log in again.
	ErrMFARequired = errors.New("mfa required")
	// ErrRefreshReused: a refresh token was presented twice; its whole
	// family is now revoked and the user must sign in again.
	ErrRefreshReused = errors.New("refresh token reused")
)

// sentinelError is a domain error that also matches a sentinel.
type sentinelError struct {
	f        *fault.Error
	sentinel error
}

func (e *sentinelError) Error() string   { return e.f.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.f, e.sentinel} }

type clientIPKey struct{}

// WithClientIP returns ctx carrying the caller's network address, which
// auth events record.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// event is one auth event for the audit log. Input must never carry a
// password, code, token or secret.
type event struct {
	action string
	actor  actor.Actor
	tenant string
	input  map[string]any
	err    error
}

// record appends ev to the audit log. Successful events fail closed (the
// caller returns the error); failed ones only log, so the caller still
// reports the original refusal.
func (s *Service) record(ctx context.Context, ev event) error {
	in := ev.input
	if ip := clientIP(ctx); ip != "" {
		if in == nil {
			in = map[string]any{}
		}
		in["ip"] = ip
	}
	r := audit.Record{At: s.now(), Actor: ev.actor, TenantID: ev.tenant, Action: ev.action, Verdict: "allow"}
	if in != nil {
		r.Input = audit.JSON(in)
	}
	if ev.err != nil {
		r.Verdict, r.Error = "deny", ev.err.Error()
	}
	if _, err := s.audit.AppendAudit(ctx, r); err != nil {
		s.log.ErrorContext(ctx, "write auth audit record", "action", ev.action, "err", err)
		if ev.err == nil {
			return fault.Unavailable("cannot record %s: audit log unavailable", ev.action)
		}
	}
	return nil
}

// caller is who to name in an audit record: the actor in ctx, else fallback.
func caller(ctx context.Context, fallback actor.Actor) actor.Actor {
	if a, ok := actor.From(ctx); ok {
		return a
	}
	return fallback
}

func userActor(u User) actor.Actor {
	return actor.Actor{Kind: actor.KindUser, ID: u.ID, TenantID: u.TenantID, Role: u.Role, Name: u.Email}
}

// reaches reports whether a may manage credentials of tenantID: its own
// tenant, or any tenant for the platform and the operator's POD Admins
// (the same rule as policies.Tenant).
func reaches(a actor.Actor, tenantID string) bool {
	return a.TenantID == tenantID || a.Kind == actor.KindSystem ||
		(a.Role == actor.RolePodAdmin && a.TenantID == tenant.DefaultID)
}

// maxBearer bounds the credentials Authenticate parses.
const maxBearer = 8 << 10

// Authenticate turns a bearer credential into the actor it stands for: an
// API token ("gpb_…"), or a user access token — built-in, or issued by
// Cognito when the Cognito settings say so. It is the one entry point for
// every face.
func (s *Service) Authenticate(ctx context.Context, bearer string) (actor.Actor, error) {
	bearer = strings.TrimSpace(bearer)
	switch {
	case bearer == "":
		return actor.Actor{}, fault.Unauthenticated("missing bearer token")
	case len(bearer) > maxBearer:
		return actor.Actor{}, fault.Unauthenticated("bearer token is longer than %d bytes", maxBearer)
	case strings.HasPrefix(bearer, APITokenPrefix):
		return s.VerifyAPIToken(ctx, bearer)
	}
	if s.opt.Cognito != nil {
		if cfg := s.opt.Cognito(); cfg.Provider == ProviderCognito {
			return s.verifyCognito(ctx, cfg, bearer)
		}
	}
	a, _, err := s.VerifyAccessToken(ctx, bearer)
	return a, err
}

// wrapRepo turns a repository failure into an error for the caller.
func wrapRepo(what string, err error) error {
	if err == nil || fault.KindOf(err) != "" {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
