package api_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

// TestSignupThroughREST: a visitor registers without a credential, is
// told to confirm the address when signing in, confirms with the emailed
// link once, and signs in; weak input is a 422 naming each rule; visitors
// are rate limited by address.
func TestSignupThroughREST(t *testing.T) {
	pf := platformtest.New(t, "sqlite")
	pf.GoLive(t, "acme")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pf.Store, Tools: pf.Registry, Auth: either{pf.Tokens, pf.Identity},
		Sessions: pf.Identity, VisitorTenant: "acme"}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pf.Store, params: pf.Params, audit: pf.Audit}
	const signup = `{"email":"ana@example.com","password":"violet-kettle-orbit-7","name":"Ana"}`

	r := p.do(t, "", "POST", "/api/v1/auth/register", signup)
	if r.status != 202 || r.body["status"] != "verification_sent" || r.body["verify"] != "link" {
		t.Fatalf("register: %d %v", r.status, r.body)
	}
	if again := p.do(t, "", "POST", "/api/v1/auth/register", signup); again.status != 202 || !equalJSON(again.body, r.body) {
		t.Fatalf("registering again: %d %v; want the first answer %v", again.status, again.body, r.body)
	}
	r = p.do(t, "", "POST", "/api/v1/auth/register", `{"email":"bo@example.com","password":"qwerty123456","name":"Bo"}`)
	if r.status != 422 || field(r) != "password" || !strings.Contains(r.body["detail"].(string), "common_password") ||
		!strings.Contains(r.body["detail"].(string), "min_score") {
		t.Fatalf("a weak password: %d %v", r.status, r.body)
	}

	login := `{"email":"ana@example.com","password":"violet-kettle-orbit-7"}`
	if r := p.do(t, "", "POST", "/api/v1/auth/login", login); r.status != 403 || !strings.Contains(r.body["detail"].(string), "not verified") {
		t.Fatalf("login before confirming: %d %v", r.status, r.body)
	}
	var link string
	for _, m := range pf.Mailbox(t, "acme", "ana@example.com") {
		if m.Kind == mail.KindVerifyEmail {
			link = m.Links[0].URL
		}
	}
	u, err := url.Parse(link)
	if err != nil || u.Path != "/verify-email" {
		t.Fatalf("verification link %q", link)
	}
	verify := `{"token":"` + u.Query().Get("token") + `"}`
	if r := p.do(t, "", "POST", "/api/v1/auth/verify", verify); r.status != 200 || r.body["verified"] != true {
		t.Fatalf("verify: %d %v", r.status, r.body)
	}
	if r := p.do(t, "", "POST", "/api/v1/auth/verify", verify); r.status != 410 {
		t.Fatalf("verifying twice: %d %v", r.status, r.body)
	}
	if r := p.do(t, "", "POST", "/api/v1/auth/verify", `{"token":"`+strings.Repeat("x", 43)+`"}`); r.status != 401 {
		t.Fatalf("an unknown link: %d %v", r.status, r.body)
	}
	if r := p.do(t, "", "POST", "/api/v1/auth/login", login); r.status != 200 || r.body["access_token"] == nil {
		t.Fatalf("login after confirming: %d %v", r.status, r.body)
	}
	if r := p.do(t, "", "POST", "/api/v1/auth/verify/resend", `{"email":"ana@example.com"}`); r.status != 202 {
		t.Fatalf("resend: %d %v", r.status, r.body)
	}

	if _, err := pf.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{Scope: params.Scope{TenantID: "acme"},
		Key: "ratelimit.tool_calls_per_minute", Value: "2", Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}
	// Five calls in at most two one-minute windows: one window holds
	// three or more, past the limit of two.
	limited := false
	for range 5 {
		if r := p.do(t, "", "POST", "/api/v1/auth/verify/resend", `{"email":"cy@example.com"}`); r.status == 429 {
			limited = r.body["rule"] == "rate"
		}
	}
	if !limited {
		t.Fatal("five resends from one address within seconds were not rate limited")
	}
}

// equalJSON compares two decoded JSON objects by their keys and values.
func equalJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
