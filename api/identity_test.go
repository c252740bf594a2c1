package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

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
