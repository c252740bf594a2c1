package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
)

func TestUsersAndTokensThroughREST(t *testing.T) {
	pf := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pf.Store, Tools: pf.Registry, Auth: either{pf.Tokens, pf.Identity}, Sessions: pf.Identity}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pf.Store, params: pf.Params, audit: pf.Audit}

	var secret string
	t.Run("an admin mints a token whose secret is shown once", func(t *testing.T) {
		r := p.do(t, "acme-admin", "POST", "/api/v1/tokens", `{"name":"ci","role":"user","ttl":"24h"}`)
		if r.status != 201 {
			t.Fatalf("status %d: %v", r.status, r.body)
		}
		secret, _ = r.body["secret"].(string)
		if !strings.HasPrefix(secret, "gpb_") {
			t.Fatalf("secret = %q", secret)
		}
	})
	t.Run("the new token authenticates as its role and tenant", func(t *testing.T) {
		r := p.do(t, secret, "GET", "/api/v1/tenants/acme", "")
		if r.status != 200 || r.body["id"] != "acme" {
			t.Fatalf("get_tenant with the token: %d %v", r.status, r.body)
		}
		if r := p.do(t, secret, "GET", "/api/v1/parameters", ""); r.status != 403 {
			t.Fatalf("a user token listed parameters: %d", r.status)
		}
	})
	t.Run("a token for another tenant is refused", func(t *testing.T) {
		r := p.do(t, "acme-admin", "POST", "/api/v1/tokens", `{"name":"x","role":"pod_admin","tenant":"beta"}`)
		if r.status != 403 {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("a weak password is a 422 naming the field", func(t *testing.T) {
		r := p.do(t, "acme-admin", "POST", "/api/v1/users", `{"email":"ana@acme.test","name":"Ana","role":"user","password":"short"}`)
		if r.status != 422 || field(r) != "password" {
			t.Fatalf("status %d: %v", r.status, r.body)
		}
	})
	var userID string
	t.Run("an admin creates a user", func(t *testing.T) {
		r := p.do(t, "acme-admin", "POST", "/api/v1/users", `{"email":"Ana@Acme.test","name":"Ana","role":"user","password":"correct-horse-42"}`)
		if r.status != 201 || r.body["email"] != "ana@acme.test" || r.body["password_hash"] != nil {
			t.Fatalf("status %d: %v", r.status, r.body)
		}
		userID, _ = r.body["id"].(string)
	})
	t.Run("the user signs in and calls a tool with its access token", func(t *testing.T) {
		r := p.do(t, "", "POST", "/api/v1/auth/login", `{"email":"ana@acme.test","password":"correct-horse-42"}`)
		access, _ := r.body["access_token"].(string)
		if r.status != 200 || access == "" {
			t.Fatalf("login: %d %v", r.status, r.body)
		}
		if r := p.do(t, access, "GET", "/api/v1/tenants/acme", ""); r.status != 200 {
			t.Fatalf("call with access token: %d %v", r.status, r.body)
		}
		if r := p.do(t, "", "POST", "/api/v1/auth/login", `{"email":"ana@acme.test","password":"wrong-horse-42"}`); r.status != 401 {
			t.Fatalf("wrong password: %d", r.status)
		}
		if r := p.do(t, "", "GET", "/.well-known/jwks.json", ""); r.status != 200 || r.body["keys"] == nil {
			t.Fatalf("jwks: %d %v", r.status, r.body)
		}
	})
	t.Run("an admin promotes the user, and a token is revoked", func(t *testing.T) {
		r := p.do(t, "acme-admin", "PUT", "/api/v1/users/"+userID+"/role", `{"role":"pro_user"}`)
		if r.status != 200 || r.body["role"] != "pro_user" {
			t.Fatalf("set role: %d %v", r.status, r.body)
		}
		list := p.do(t, "acme-admin", "GET", "/api/v1/tokens", "")
		toks, _ := list.body["tokens"].([]any)
		if len(toks) != 1 {
			t.Fatalf("tokens = %v", list.body)
		}
		id := toks[0].(map[string]any)["id"].(string)
		if r := p.do(t, "acme-admin", "DELETE", "/api/v1/tokens/"+id, ""); r.status != 200 {
			t.Fatalf("revoke: %d %v", r.status, r.body)
		}
		if r := p.do(t, secret, "GET", "/api/v1/tenants/acme", ""); r.status != 401 {
			t.Fatalf("a revoked token still works: %d", r.status)
		}
	})
	t.Run("neither the token secret nor the password reaches the audit log", func(t *testing.T) {
		p.audit.Flush()
		recs, _ := p.st.QueryAudit(context.Background(), audit.Filter{})
		for _, r := range recs {
			all := string(r.Input) + string(r.Result) + r.Error
			if strings.Contains(all, secret) || strings.Contains(all, "correct-horse") || strings.Contains(all, "short\"") {
				t.Fatalf("secret in audit record %+v", r)
			}
		}
	})
}

// either tries the fake token table first, then real identity, so a test
// can mint real API tokens through the tools and use them.
type either []api.Authenticator

func (e either) Authenticate(ctx context.Context, bearer string) (a actor.Actor, err error) {
	for _, x := range e {
		if a, err = x.Authenticate(ctx, bearer); err == nil {
			return a, nil
		}
	}
	return a, err
}

func TestMFAThroughREST(t *testing.T) {
	pf := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pf.Store, Tools: pf.Registry, Auth: either{pf.Tokens, pf.Identity}, Sessions: pf.Identity}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pf.Store, params: pf.Params, audit: pf.Audit}
	if r := p.do(t, "acme-admin", "POST", "/api/v1/users", `{"email":"root@acme.test","name":"Root","role":"pod_admin","password":"correct-horse-42"}`); r.status != 201 {
		t.Fatalf("create admin: %d %v", r.status, r.body)
	}
	r := p.do(t, "acme-admin", "POST", "/api/v1/tokens", `{"name":"ci","role":"user"}`)
	tok, _ := r.body["secret"].(string)
	login := func(code string) reply {
		return p.do(t, "", "POST", "/api/v1/auth/login", `{"email":"root@acme.test","password":"correct-horse-42","totp_code":"`+code+`"}`)
	}
	r = login("")
	pwdOnly, _ := r.body["access_token"].(string)
	if pwdOnly == "" {
		t.Fatalf("login: %d %v", r.status, r.body)
	}
	if r := p.do(t, "op", "PUT", "/api/v1/parameters/auth.mfa_required_for_admins", `{"value":"true","confirm":"global"}`); r.status != 200 {
		t.Fatalf("require mfa: %d %v", r.status, r.body)
	}
	t.Run("an admin without MFA is refused admin tools but may enrol", func(t *testing.T) {
		if r := p.do(t, pwdOnly, "GET", "/api/v1/users", ""); r.status != 403 || !strings.Contains(r.body["detail"].(string)+fmt.Sprint(r.body), "MFA") {
			t.Fatalf("list users without MFA: %d %v", r.status, r.body)
		}
	})
	var secret string
	t.Run("enrolment returns the secret once and it is not audited", func(t *testing.T) {
		r := p.do(t, pwdOnly, "POST", "/api/v1/me/mfa", "")
		secret, _ = r.body["secret"].(string)
		if r.status != 200 || secret == "" || !strings.HasPrefix(r.body["otpauth_url"].(string), "otpauth://totp/") {
			t.Fatalf("enrol: %d %v", r.status, r.body)
		}
		p.audit.Flush()
		recs, _ := p.st.QueryAudit(context.Background(), audit.Filter{Action: "enroll_mfa"})
		if len(recs) != 1 || strings.Contains(string(recs[0].Result), secret) {
			t.Fatalf("audit of enrolment: %+v", recs)
		}
	})
	t.Run("a wrong code does not confirm; a right one does", func(t *testing.T) {
		if r := p.do(t, pwdOnly, "POST", "/api/v1/me/mfa/confirm", `{"code":"000000"}`); r.status < 400 {
			t.Fatalf("wrong code accepted: %d", r.status)
		}
		code, _ := totp.GenerateCode(secret, time.Now())
		if r := p.do(t, pwdOnly, "POST", "/api/v1/me/mfa/confirm", `{"code":"`+code+`"}`); r.status != 200 || r.body["enabled"] != true {
			t.Fatalf("confirm: %d %v", r.status, r.body)
		}
	})
	t.Run("signing in with a code lifts the refusal", func(t *testing.T) {
		if r := login(""); r.status != 401 {
			t.Fatalf("login without a code once MFA is on: %d %v", r.status, r.body)
		}
		// The code used to confirm is spent; the next period's code signs in.
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		r := login(code)
		access, _ := r.body["access_token"].(string)
		if access == "" {
			t.Fatalf("login with code: %d %v", r.status, r.body)
		}
		if r := p.do(t, access, "GET", "/api/v1/users", ""); r.status != 200 {
			t.Fatalf("admin with MFA: %d %v", r.status, r.body)
		}
	})
	t.Run("an API token cannot manage MFA", func(t *testing.T) {
		if r := p.do(t, tok, "POST", "/api/v1/me/mfa", ""); r.status != 403 {
			t.Fatalf("token enrolled: %d %v", r.status, r.body)
		}
	})
}

func TestTokenScopesNarrowTools(t *testing.T) {
	pf := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pf.Store, Tools: pf.Registry, Auth: either{pf.Tokens, pf.Identity}, Sessions: pf.Identity}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pf.Store, params: pf.Params, audit: pf.Audit}
	if r := p.do(t, "acme-admin", "POST", "/api/v1/tokens", `{"name":"x","role":"pod_admin","scopes":["reed"]}`); r.status != 422 || field(r) != "scopes[0]" {
		t.Fatalf("unknown scope: %d %v", r.status, r.body)
	}
	r := p.do(t, "acme-admin", "POST", "/api/v1/tokens", `{"name":"reader","role":"pod_admin","scopes":["read"]}`)
	secret, _ := r.body["secret"].(string)
	if secret == "" {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	if r := p.do(t, secret, "GET", "/api/v1/parameters", ""); r.status != 200 {
		t.Fatalf("a read token reads: %d %v", r.status, r.body)
	}
	if r := p.do(t, secret, "PUT", "/api/v1/parameters/billing.markup_percent", `{"tenant":"acme","value":"20"}`); r.status != 403 {
		t.Fatalf("a read token wrote: %d %v", r.status, r.body)
	}
}
