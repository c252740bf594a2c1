package auth_test

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// jwksServer serves a JWK Set that a test can change, and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys map[string]*rsa.PrivateKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		set := jwkset.NewMemoryStorage()
		for kid, k := range s.keys {
			jwk, err := jwkset.NewJWKFromKey(&k.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
				KID: kid, ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_ = set.KeyWrite(r.Context(), jwk)
		}
		raw, err := set.JSONPublic(r.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) add(kid string, k *rsa.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[kid] = k
}

type cognitoClaims struct {
	jwt.RegisteredClaims
	TokenUse string   `json:"token_use"`
	ClientID string   `json:"client_id,omitempty"`
	Groups   []string `json:"cognito:groups,omitempty"`
	TenantID string   `json:"custom:tenant_id,omitempty"`
	Email    string   `json:"email,omitempty"`
	Username string   `json:"username,omitempty"`
}

const (
	cognitoIssuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"
	cognitoClient = "client-1"
)

func TestCognito(t *testing.T) {
	key := newRSAKey(t)
	srv := newJWKSServer(t, map[string]*rsa.PrivateKey{"c1": key})
	var cfg atomic.Pointer[auth.CognitoConfig]
	cfg.Store(&auth.CognitoConfig{Provider: auth.ProviderCognito, Issuer: cognitoIssuer, JWKSURL: srv.URL, ClientID: cognitoClient})
	f := newFixture(t, "sqlite", auth.Options{Cognito: func() auth.CognitoConfig { return *cfg.Load() }})
	now := f.clock.Now()

	idToken := func(change func(*cognitoClaims)) *cognitoClaims {
		c := &cognitoClaims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: cognitoIssuer, Subject: "sub-1", Audience: jwt.ClaimStrings{cognitoClient},
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))},
			TokenUse: "id", Groups: []string{"pro_user"}, TenantID: "acme", Email: "zoe@acme.test",
		}
		if change != nil {
			change(c)
		}
		return c
	}
	accessToken := func(change func(*cognitoClaims)) *cognitoClaims {
		c := &cognitoClaims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: cognitoIssuer, Subject: "sub-2",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))},
			TokenUse: "access", ClientID: cognitoClient, Groups: []string{"pro_user", "pod_admin", "unrelated"}, Username: "yan",
		}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(c *cognitoClaims) string { return mint(t, jwt.SigningMethodRS256, "c1", key, c) }

	cases := []struct {
		name    string
		token   string
		want    actor.Actor
		kind    fault.Kind
		wantErr string
	}{
		{"an id token maps its group, tenant and email", sign(idToken(nil)),
			actor.Actor{Kind: actor.KindUser, ID: "cognito:sub-1", TenantID: "acme", Role: actor.RoleProUser, Name: "zoe@acme.test", MFA: true}, "", ""},
		{"an access token takes the highest of its groups", sign(accessToken(nil)),
			actor.Actor{Kind: actor.KindUser, ID: "cognito:sub-2", TenantID: "default", Role: actor.RolePodAdmin, Name: "yan", MFA: true}, "", ""},
		{"a user in no known group is a user", sign(idToken(func(c *cognitoClaims) { c.Groups = []string{"staff"} })),
			actor.Actor{Kind: actor.KindUser, ID: "cognito:sub-1", TenantID: "acme", Role: actor.RoleUser, Name: "zoe@acme.test", MFA: true}, "", ""},
		{"a token of another issuer is refused", sign(idToken(func(c *cognitoClaims) { c.Issuer = "https://evil.example" })),
			actor.Actor{}, fault.KindUnauthenticated, "wrong issuer"},
		{"an id token for another client is refused", sign(idToken(func(c *cognitoClaims) { c.Audience = jwt.ClaimStrings{"client-2"} })),
			actor.Actor{}, fault.KindUnauthenticated, "another app client"},
		{"an access token for another client is refused", sign(accessToken(func(c *cognitoClaims) { c.ClientID = "client-2" })),
			actor.Actor{}, fault.KindUnauthenticated, "another app client"},
		{"a token of unknown use is refused", sign(idToken(func(c *cognitoClaims) { c.TokenUse = "refresh" })),
			actor.Actor{}, fault.KindUnauthenticated, "token_use"},
		{"an expired token is refused", sign(idToken(func(c *cognitoClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour))
		})), actor.Actor{}, fault.KindUnauthenticated, "expired"},
		{"HS256 is refused", mint(t, jwt.SigningMethodHS256, "c1", []byte("secret"), idToken(nil)),
			actor.Actor{}, fault.KindUnauthenticated, `algorithm "HS256"`},
		{"a token signed by a stranger is refused", mint(t, jwt.SigningMethodRS256, "c1", newRSAKey(t), idToken(nil)),
			actor.Actor{}, fault.KindUnauthenticated, "signature is invalid"},
		{"a built-in access token is not a Cognito token", f.login(t, "").AccessToken,
			actor.Actor{}, fault.KindUnauthenticated, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := f.svc.Authenticate(f.ctx, c.token)
			if c.kind != "" {
				wantFault(t, err, c.kind, c.wantErr)
				return
			}
			if err != nil || a != c.want {
				t.Fatalf("got %+v, %v; want %+v", a, err, c.want)
			}
		})
	}

	t.Run("a group map from the settings replaces the default", func(t *testing.T) {
		c := *cfg.Load()
		c.Groups = map[string]actor.Role{"staff": actor.RoleEnterpriseUser}
		cfg.Store(&c)
		defer func() { c.Groups = nil; cfg.Store(&c) }()
		a, err := f.svc.Authenticate(f.ctx, sign(idToken(func(c *cognitoClaims) { c.Groups = []string{"staff", "pod_admin"} })))
		if err != nil || a.Role != actor.RoleEnterpriseUser {
			t.Fatalf("got %+v, %v; want enterprise_user", a, err)
		}
	})
	t.Run("a new kid makes one JWKS refetch, a made-up one no more", func(t *testing.T) {
		// A fresh instance, whose refetch allowance is unspent.
		svc := f.service(t, auth.Options{Cognito: func() auth.CognitoConfig { return *cfg.Load() }})
		if _, err := svc.Authenticate(f.ctx, sign(idToken(nil))); err != nil {
			t.Fatal(err)
		}
		key2 := newRSAKey(t)
		srv.add("c2", key2)
		before := srv.fetches.Load()
		a, err := svc.Authenticate(f.ctx, mint(t, jwt.SigningMethodRS256, "c2", key2, idToken(nil)))
		if err != nil || a.ID != "cognito:sub-1" {
			t.Fatalf("token of the new key: %+v, %v", a, err)
		}
		if got := srv.fetches.Load() - before; got != 1 {
			t.Fatalf("refetches = %d, want 1", got)
		}
		for range 3 {
			_, err = svc.Authenticate(f.ctx, mint(t, jwt.SigningMethodRS256, "made-up", key2, idToken(nil)))
			wantFault(t, err, fault.KindUnauthenticated, "unknown key")
		}
		if got := srv.fetches.Load() - before; got != 1 {
			t.Fatalf("refetches after made-up kids = %d, want still 1 (rate limited)", got)
		}
	})
	t.Run("API tokens still work while Cognito issues user tokens", func(t *testing.T) {
		_, plain, err := f.svc.CreateAPIToken(context.Background(), actor.System("test"), "acme", actor.RoleUser, "mcp", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := f.svc.Authenticate(f.ctx, plain); err != nil || a.Kind != actor.KindToken {
			t.Fatalf("got %+v, %v", a, err)
		}
	})
	t.Run("switching back to builtin refuses Cognito tokens", func(t *testing.T) {
		c := *cfg.Load()
		c.Provider = auth.ProviderBuiltin
		cfg.Store(&c)
		_, err := f.svc.Authenticate(f.ctx, sign(idToken(nil)))
		wantFault(t, err, fault.KindUnauthenticated, "")
	})
	t.Run("cognito without issuer or client is unavailable, not open", func(t *testing.T) {
		cfg.Store(&auth.CognitoConfig{Provider: auth.ProviderCognito})
		_, err := f.svc.Authenticate(f.ctx, sign(idToken(nil)))
		wantFault(t, err, fault.KindUnavailable, "not set")
	})
}
