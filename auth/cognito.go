package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tenant"
)

// Identity providers (parameter auth.provider).
const (
	ProviderBuiltin = "builtin"
	ProviderCognito = "cognito"
)

// CognitoConfig is the current Cognito setup. Options.Cognito returns it
// on every call, so a parameter change takes effect at once.
type CognitoConfig struct {
	// Provider is ProviderBuiltin or ProviderCognito.
	Provider string
	// Issuer is the user pool's issuer,
	// https://cognito-idp.<region>.amazonaws.com/<pool id>.
	Issuer string
	// JWKSURL defaults to Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// ClientID is the app client: the audience of id tokens and the
	// client_id of access tokens.
	ClientID string
	// ClientSecret is the app client's secret, when it has one: calls
	// about a user then carry a SECRET_HASH made with it.
	ClientSecret string
	// Groups maps cognito:groups to roles; the highest role a user's
	// groups map to wins, and no match means RoleUser. Nil means
	// DefaultCognitoGroups.
	Groups map[string]actor.Role
}

// DefaultCognitoGroups maps groups named like the roles to those roles.
func DefaultCognitoGroups() map[string]actor.Role {
	return map[string]actor.Role{
		"pod_admin":       actor.RolePodAdmin,
		"enterprise_user": actor.RoleEnterpriseUser,
		"pro_user":        actor.RoleProUser,
	}
}

var defaultCognitoGroups = DefaultCognitoGroups()

// The JWKS is refetched hourly, and at once when a token names an unknown
// kid (Cognito rotated its keys) but at most once per jwksMissEvery, so
// tokens with made-up kids cannot make us hammer Cognito; a call never
// waits for the limiter.
const (
	jwksRefresh   = time.Hour
	jwksMissEvery = 30 * time.Second
	jwksFetchMax  = 5 * time.Second
)

type cognitoClaims struct {
	jwt.RegisteredClaims
	TokenUse        string   `json:"token_use"`
	ClientID        string   `json:"client_id"`
	Groups          []string `json:"cognito:groups"`
	TenantID        string   `json:"custom:tenant_id"`
	Email           string   `json:"email"`
	CognitoUsername string   `json:"cognito:username"`
	Username        string   `json:"username"`
}

// cognitoCache holds the JWKS client of the current JWKS URL and the
// parser of the current issuer.
type cognitoCache struct {
	mu     sync.Mutex
	url    string
	keys   keyfunc.Keyfunc
	cancel context.CancelFunc // stops keys' refresh goroutine
	issuer string
	parser *jwt.Parser
}

func (c *cognitoCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		c.cancel, c.keys, c.url = nil, nil, ""
	}
}

func (s *Service) cognitoVerifier(cfg CognitoConfig, url string) (keyfunc.Keyfunc, *jwt.Parser, error) {
	c := &s.cog
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.bg.Err() != nil {
		return nil, nil, fault.Unavailable("identity service is closed")
	}
	if c.keys == nil || c.url != url {
		if c.cancel != nil {
			c.cancel()
		}
		ctx, cancel := context.WithCancel(s.bg)
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
			Client:            s.opt.HTTPClient,
			HTTPTimeout:       jwksFetchMax,
			RefreshInterval:   jwksRefresh,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(jwksMissEvery), 1),
			// Bounds the wait for the limiter (a call that would wait
			// longer fails at once) and the refetch itself.
			RateLimitWaitMax: jwksFetchMax,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					s.log.WarnContext(ctx, "fetch cognito jwks", "url", u, "err", err)
				}
			},
		})
		if err != nil {
			cancel()
			s.log.Error("cognito jwks client", "url", url, "err", err)
			return nil, nil, fault.Unavailable("cognito jwks url %q is not usable", url)
		}
		c.url, c.keys, c.cancel = url, kf, cancel
	}
	if c.parser == nil || c.issuer != cfg.Issuer {
		c.issuer = cfg.Issuer
		c.parser = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(clockSkew),
			jwt.WithTimeFunc(s.opt.Clock),
		)
	}
	return c.keys, c.parser, nil
}

// verifyCognito checks a Cognito id or access token against the pool's
// JWKS and maps it to a user actor.
func (s *Service) verifyCognito(ctx context.Context, cfg CognitoConfig, raw string) (actor.Actor, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return actor.Actor{}, fault.Unavailable("auth.provider is cognito but the cognito issuer or client id is not set")
	}
	url := cfg.JWKSURL
	if url == "" {
		url = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	keys, parser, err := s.cognitoVerifier(cfg, url)
	if err != nil {
		return actor.Actor{}, err
	}
	lookup := keys.KeyfuncCtx(ctx)
	var c cognitoClaims
	tok, err := parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodRS256 {
			return nil, errAlg
		}
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, errNoKID
		}
		k, err := lookup(t)
		if err != nil && ctx.Err() == nil {
			// Not in the set even after the (rate-limited) refetch; a
			// failed fetch has been logged by the refresh handler.
			if !errors.Is(err, jwkset.ErrKeyNotFound) {
				s.log.DebugContext(ctx, "cognito key lookup", "err", err)
			}
			return nil, errUnknownKID
		}
		return k, err
	})
	if err != nil {
		return actor.Actor{}, s.tokenError(ctx, "cognito token", tok, err)
	}
	switch c.TokenUse {
	case "id":
		if !slices.Contains(c.Audience, cfg.ClientID) {
			return actor.Actor{}, fault.Unauthenticated("cognito id token was issued to another app client")
		}
	case "access":
		if c.ClientID != cfg.ClientID {
			return actor.Actor{}, fault.Unauthenticated("cognito access token was issued to another app client")
		}
	default:
		return actor.Actor{}, fault.Unauthenticated("cognito token has token_use %q; want id or access", c.TokenUse)
	}
	if c.Subject == "" {
		return actor.Actor{}, fault.Unauthenticated("cognito token has no subject")
	}
	a := actor.Actor{Kind: actor.KindUser, ID: "cognito:" + c.Subject, TenantID: c.TenantID,
		Role: cognitoRole(cfg.Groups, c.Groups), Name: c.Email,
		// The user pool enforces its own MFA settings before it issues a
		// token; the platform's admin MFA rule applies to built-in sign-in.
		MFA: true}
	if a.TenantID == "" {
		a.TenantID = tenant.DefaultID
	}
	if a.Name == "" {
		a.Name = c.CognitoUsername
	}
	if a.Name == "" {
		a.Name = c.Username
	}
	return a, nil
}

// cognitoRole is the highest role the groups map to, RoleUser if none.
func cognitoRole(m map[string]actor.Role, groups []string) actor.Role {
	if m == nil {
		m = defaultCognitoGroups
	}
	best := actor.RoleUser
	for _, g := range groups {
		if r, ok := m[g]; ok && r.Valid() && r.AtLeast(best) {
			best = r
		}
	}
	return best
}
