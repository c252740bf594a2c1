package auth_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

func TestVerifyAccessToken(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	kid, key := f.activeKey(t)
	now := f.clock.Now()
	// claims returns valid claims with change applied.
	claims := func(change func(*auth.Claims)) *auth.Claims {
		c := &auth.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.DefaultIssuer, Subject: f.user.ID,
				Audience: jwt.ClaimStrings{auth.DefaultAudience}, ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
				NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now), ID: "jti-1"},
			TenantID: "acme", Role: actor.RoleProUser, Email: "ana@acme.test", AMR: []string{"pwd"},
		}
		if change != nil {
			change(c)
		}
		return c
	}
	valid := mint(t, jwt.SigningMethodRS256, kid, key, claims(nil))
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(strings.Replace(string(payload), `"role":"pro_user"`, `"role":"pod_admin"`, 1))) + "." + parts[2]

	cases := []struct {
		name    string
		token   string
		wantErr string
	}{
		{"a token signed by the active key is accepted", valid, ""},
		{"alg none is refused", mint(t, jwt.SigningMethodNone, kid, jwt.UnsafeAllowNoneSignatureType, claims(nil)), `algorithm "none" is not accepted`},
		{"HS256 keyed with the public key is refused", mint(t, jwt.SigningMethodHS256, kid, pubPEM, claims(nil)), `algorithm "HS256" is not accepted`},
		{"RS512 is refused", mint(t, jwt.SigningMethodRS512, kid, key, claims(nil)), `algorithm "RS512" is not accepted`},
		{"another issuer is refused", mint(t, jwt.SigningMethodRS256, kid, key, claims(func(c *auth.Claims) { c.Issuer = "evil" })), "wrong issuer"},
		{"another audience is refused", mint(t, jwt.SigningMethodRS256, kid, key, claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{"other-api"} })), "wrong audience"},
		{"an expired token is refused", mint(t, jwt.SigningMethodRS256, kid, key, claims(func(c *auth.Claims) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(-time.Minute))
		})), "has expired"},
		{"a token without exp is refused", mint(t, jwt.SigningMethodRS256, kid, key, claims(func(c *auth.Claims) { c.ExpiresAt = nil })), "required claim"},
		{"a token not valid until later is refused", mint(t, jwt.SigningMethodRS256, kid, key, claims(func(c *auth.Claims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour))
		})), "not valid yet"},
		{"an unknown kid is refused", mint(t, jwt.SigningMethodRS256, "no-such-key", newRSAKey(t), claims(nil)), "unknown key"},
		{"a token without kid is refused", mint(t, jwt.SigningMethodRS256, "", key, claims(nil)), "no key id"},
		{"a tampered payload is refused", tampered, "signature is invalid"},
		{"a token with an unknown role is refused", mint(t, jwt.SigningMethodRS256, kid, key, claims(func(c *auth.Claims) { c.Role = "root" })), "known role"},
		{"garbage is malformed", "not.a.jwt", "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, got, err := f.svc.VerifyAccessToken(f.ctx, c.token)
			if c.wantErr != "" {
				wantFault(t, err, fault.KindUnauthenticated, c.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := actor.Actor{Kind: actor.KindUser, ID: f.user.ID, TenantID: "acme", Role: actor.RoleProUser, Name: "ana@acme.test"}
			if a != want || got.ID != "jti-1" {
				t.Fatalf("actor = %+v, claims = %+v", a, got)
			}
			// Authenticate takes the same path for a non-API token.
			if a2, err := f.svc.Authenticate(f.ctx, "  "+c.token+" "); err != nil || a2 != want {
				t.Fatalf("Authenticate = %+v, %v", a2, err)
			}
		})
	}
}

func TestSigningKeyRotation(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	oldKID, oldKey := f.activeKey(t)
	before := f.login(t, "")
	other := f.service(t, auth.Options{}) // a second instance on the same database
	if _, _, err := other.VerifyAccessToken(f.ctx, before.AccessToken); err != nil {
		t.Fatalf("second instance: %v", err)
	}

	newKID, err := f.svc.RotateSigningKey(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := f.svc.Refresh(f.ctx, before.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	kidOf := func(tok string) string {
		p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Header["kid"].(string)
	}
	t.Run("new tokens are signed by the new key", func(t *testing.T) {
		if kidOf(before.AccessToken) != oldKID || kidOf(after.AccessToken) != newKID || oldKID == newKID {
			t.Fatalf("kids: before %s, after %s; old %s, new %s", kidOf(before.AccessToken), kidOf(after.AccessToken), oldKID, newKID)
		}
	})
	t.Run("tokens of the retired key stay valid", func(t *testing.T) {
		if _, _, err := f.svc.VerifyAccessToken(f.ctx, before.AccessToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another instance learns the new key on first sight of its kid", func(t *testing.T) {
		f.clock.Advance(2 * time.Second)
		if _, _, err := other.VerifyAccessToken(f.ctx, after.AccessToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the JWKS lists both keys", func(t *testing.T) {
		raw, err := f.svc.JWKS(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []struct {
				KID string `json:"kid"`
				Alg string `json:"alg"`
				D   string `json:"d"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatal(err)
		}
		kids := map[string]bool{}
		for _, k := range set.Keys {
			if k.D != "" || k.Alg != "RS256" {
				t.Fatalf("jwks leaks a private part or has alg %q: %s", k.Alg, raw)
			}
			kids[k.KID] = true
		}
		if len(kids) != 2 || !kids[oldKID] || !kids[newKID] {
			t.Fatalf("jwks kids = %v; want %s and %s", kids, oldKID, newKID)
		}
	})
	t.Run("the retired key stops verifying once its grace has passed", func(t *testing.T) {
		long := mint(t, jwt.SigningMethodRS256, oldKID, oldKey, &auth.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.DefaultIssuer, Subject: f.user.ID, Audience: jwt.ClaimStrings{auth.DefaultAudience},
				IssuedAt: jwt.NewNumericDate(f.clock.Now()), ExpiresAt: jwt.NewNumericDate(f.clock.Now().Add(48 * time.Hour))},
			TenantID: "acme", Role: actor.RoleUser})
		if _, _, err := f.svc.VerifyAccessToken(f.ctx, long); err != nil {
			t.Fatalf("within grace: %v", err)
		}
		f.clock.Advance(auth.DefaultRetiredKeyTTL + time.Minute)
		_, _, err := f.svc.VerifyAccessToken(f.ctx, long)
		wantFault(t, err, fault.KindUnauthenticated, "unknown key")
	})
	if n := len(records(t, f, "auth.signing_key_rotated")); n != 1 {
		t.Fatalf("rotation records = %d, want 1", n)
	}
}

func TestInstancesStartingTogetherShareOneKey(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	svcs := []*auth.Service{f.svc, f.service(t, auth.Options{}), f.service(t, auth.Options{})}
	sets := make([]string, len(svcs))
	errs := make([]error, len(svcs))
	var wg sync.WaitGroup
	for i, s := range svcs {
		wg.Go(func() {
			raw, err := s.JWKS(f.ctx)
			sets[i], errs[i] = string(raw), err
		})
	}
	wg.Wait()
	for i := range svcs {
		if errs[i] != nil || sets[i] != sets[0] {
			t.Fatalf("instance %d: jwks %s, %v; instance 0: %s", i, sets[i], errs[i], sets[0])
		}
	}
	keys, err := f.st.SigningKeys(f.ctx, f.clock.Now())
	if err != nil || len(keys) != 1 {
		t.Fatalf("signing keys = %d, %v; want exactly one", len(keys), err)
	}
}
