package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery 9"

// realHash is testPassword hashed at the production cost. argon2id is slow
// on purpose, so the binary hashes it once, and only the test about that
// cost uses it.
var realHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(testPassword) })

// cheapHash is testPassword hashed with argon2id at minimal cost.
// VerifyPassword takes the cost from the hash, so tests that are not about
// the cost stay fast.
func cheapHash() (string, error) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(testPassword), salt, 1, 64, 1, 32)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, b64(salt), b64(key)), nil
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is one database with tenants acme and beta, a pro_user of acme
// (ana) and an identity service over it.
type fixture struct {
	ctx    context.Context
	st     *store.Store
	sealer *secrets.Envelope
	clock  *fakeClock
	svc    *auth.Service
	user   auth.User
}

func newFixture(t testing.TB, backend string, opt auth.Options) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), clock: &fakeClock{now: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}}
	st, err := store.Open(f.ctx, dbtest.New(t, backend).URL, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, err := secrets.NewLocalKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f.sealer = secrets.NewEnvelope(lk)
	f.svc = f.service(t, opt)
	for _, id := range []string{"acme", "beta"} {
		now := f.clock.Now()
		tn := tenant.Tenant{ID: id, Name: id, Mode: mode.Sandbox, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateTenant(f.ctx, tn, audit.Record{Actor: actor.System("test"), Action: "tenant.create", TenantID: id}); err != nil {
			t.Fatal(err)
		}
	}
	f.user = f.addUser(t, "ana@acme.test", "acme", actor.RoleProUser, cheapHash)
	return f
}

// service returns another instance over the same database and clock.
func (f *fixture) service(t testing.TB, opt auth.Options) *auth.Service {
	opt.Clock = f.clock.Now
	svc := auth.NewService(f.st, f.sealer, f.st, opt)
	t.Cleanup(svc.Close)
	return svc
}

func (f *fixture) addUser(t testing.TB, email, tenantID string, role actor.Role, hashed func() (string, error)) auth.User {
	t.Helper()
	hash, err := hashed()
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	u := auth.User{ID: "u-" + strings.Split(email, "@")[0], TenantID: tenantID, Email: email, Name: email, Role: role,
		PasswordHash: hash, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := f.st.CreateUser(f.ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) login(t testing.TB, code string) auth.Tokens {
	t.Helper()
	tok, err := f.svc.Login(f.ctx, f.user.Email, testPassword, code)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return tok
}

// activeKey opens the active signing key from the database, so tests can
// forge tokens that differ from real ones in exactly one way.
func (f *fixture) activeKey(t testing.TB) (string, *rsa.PrivateKey) {
	t.Helper()
	if _, err := f.svc.JWKS(f.ctx); err != nil { // creates the first key
		t.Fatal(err)
	}
	keys, err := f.st.SigningKeys(f.ctx, f.clock.Now())
	if err != nil || len(keys) == 0 || !keys[0].RetiredAt.IsZero() {
		t.Fatalf("signing keys = %+v, %v", keys, err)
	}
	plain, err := f.sealer.Open(f.ctx, keys[0].Sealed, []byte("signing-key/"+keys[0].KID))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(plain)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return keys[0].KID, k.(*rsa.PrivateKey)
}

// code returns the TOTP code of secret at the fixture's time plus d.
func (f *fixture) code(t testing.TB, secret string, d time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, f.clock.Now().Add(d),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mint(t testing.TB, method jwt.SigningMethod, kid string, key any, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wantFault checks err is a domain error of kind k whose message holds msg.
func wantFault(t testing.TB, err error, k fault.Kind, msg string) {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok || fe.Kind != k || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error = %v; want kind %q containing %q", err, k, msg)
	}
}

func records(t testing.TB, f *fixture, action string) []audit.Record {
	t.Helper()
	rs, err := f.st.QueryAudit(f.ctx, audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
