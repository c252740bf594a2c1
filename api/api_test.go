package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tools"
)

type platform struct {
	srv    *httptest.Server
	st     *store.Store
	params *params.Service
	audit  *audit.Writer
}

var operator = platformtest.Operator

func newPlatform(t *testing.T) *platform {
	t.Helper()
	p := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: p.Store, Tools: p.Registry, Auth: p.Tokens}))
	t.Cleanup(srv.Close)
	return &platform{srv: srv, st: p.Store, params: p.Params, audit: p.Audit}
}

type reply struct {
	status int
	body   map[string]any
	header http.Header
}

func (p *platform) do(t *testing.T, token, method, path, body string, hdr ...string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, p.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
		}
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s %s: error %d without problem JSON: %s", method, path, resp.StatusCode, b)
	}
	return r
}

func field(r reply) string {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	f, _ := errs[0].(map[string]any)["field"].(string)
	return f
}

func TestRESTFace(t *testing.T) {
	p := newPlatform(t)
	const markup = "/api/v1/parameters/billing.markup_percent"
	cases := []struct {
		name         string
		token        string
		method, path string
		body         string
		status       int
		check        func(t *testing.T, r reply)
	}{
		{"a call without a token is refused with 401", "", "GET", "/api/v1/parameters", "", 401, func(t *testing.T, r reply) {
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		}},
		{"an unknown token is refused with 401", "nope", "GET", "/api/v1/parameters", "", 401, nil},
		{"a user may not list parameters", "acme-user", "GET", "/api/v1/parameters", "", 403, func(t *testing.T, r reply) {
			if r.body["rule"] != "role" {
				t.Errorf("rule = %v", r.body["rule"])
			}
		}},
		{"an admin lists its tenant's parameters", "acme-admin", "GET", "/api/v1/parameters?prefix=billing.", "", 200, func(t *testing.T, r reply) {
			ps, _ := r.body["parameters"].([]any)
			keys := map[string]bool{}
			for _, p := range ps {
				key, _ := p.(map[string]any)["key"].(string)
				keys[key] = strings.HasPrefix(key, "billing.")
			}
			if !keys["billing.currency"] || !keys["billing.markup_percent"] || keys["stripe.secret_key"] {
				t.Errorf("parameters = %v", ps)
			}
			for key, ok := range keys {
				if !ok {
					t.Errorf("%s listed under the prefix billing.", key)
				}
			}
		}},
		{"a LIVE-affecting change asks for the tenant id", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"20"}`, 409, func(t *testing.T, r reply) {
			if r.body["confirm"] != "acme" {
				t.Errorf("confirm = %v", r.body["confirm"])
			}
		}},
		{"a dry run previews without changing anything", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"20","dry_run":true}`, 200, func(t *testing.T, r reply) {
			if r.body["dry_run"] != nil && r.body["effect"] == nil || !strings.Contains(r.body["effect"].(string), `to "20"`) {
				t.Errorf("preview = %v", r.body)
			}
		}},
		{"the confirmed change lands", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"20","confirm":"acme"}`, 200, func(t *testing.T, r reply) {
			if r.body["new_value"] != "20" {
				t.Errorf("change = %v", r.body)
			}
		}},
		{"an unknown body field is a 400 naming it", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"20","colour":"red"}`, 400, func(t *testing.T, r reply) {
			if field(r) != "colour" {
				t.Errorf("field = %q", field(r))
			}
		}},
		{"a wrong type is a 400 naming the field", "acme-admin", "PUT", markup, `{"tenant":"acme","value":20}`, 400, func(t *testing.T, r reply) {
			if field(r) != "value" {
				t.Errorf("field = %q", field(r))
			}
		}},
		{"broken JSON is a 400", "acme-admin", "PUT", markup, `{"tenant":`, 400, nil},
		{"trailing data is a 400", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"1"} {}`, 400, nil},
		{"a value breaking the rule is a 422 naming the key", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"900","confirm":"acme"}`, 422, func(t *testing.T, r reply) {
			if field(r) != "billing.markup_percent" || !strings.Contains(r.body["detail"].(string), "between 0 and 500") {
				t.Errorf("problem = %v", r.body)
			}
		}},
		{"an unknown query parameter is a 400", "acme-admin", "GET", "/api/v1/parameters?colour=red", "", 400, nil},
		{"a badly typed query parameter is a 400", "acme-admin", "GET", "/api/v1/parameters/billing.markup_percent/history?limit=lots", "", 400, func(t *testing.T, r reply) {
			if field(r) != "limit" {
				t.Errorf("field = %q", field(r))
			}
		}},
		{"a tenant admin may not reach another tenant", "acme-admin", "PUT", markup, `{"tenant":"beta","value":"20","confirm":"beta"}`, 403, func(t *testing.T, r reply) {
			if r.body["rule"] != "tenant" {
				t.Errorf("rule = %v", r.body["rule"])
			}
		}},
		{"a tenant admin may not set a global value", "acme-admin", "PUT", markup, `{"value":"20","confirm":"global"}`, 403, nil},
		{"the operator may set a global value", "op", "PUT", markup, `{"value":"12","confirm":"global"}`, 200, nil},
		{"going LIVE lists what is missing", "acme-admin", "PUT", "/api/v1/tenants/acme/mode", `{"mode":"LIVE","confirm":"acme"}`, 409, func(t *testing.T, r reply) {
			if m, _ := r.body["missing"].([]any); len(m) != 3 {
				t.Errorf("missing = %v", r.body["missing"])
			}
		}},
		{"platform tools are refused to tenant admins", "acme-admin", "POST", "/api/v1/tenants", `{"id":"gamma","name":"Gamma"}`, 403, nil},
		{"the operator creates a tenant with 201", "op", "POST", "/api/v1/tenants", `{"id":"gamma","name":"Gamma"}`, 201, nil},
		{"an unknown parameter is a 422", "acme-admin", "GET", "/api/v1/parameters/no.such", "", 422, nil},
		{"an unknown route is a 404 problem", "acme-admin", "GET", "/api/v1/nowhere", "", 404, nil},
		{"an oversized body is a 413", "acme-admin", "PUT", markup, `{"tenant":"acme","value":"` + strings.Repeat("x", api.MaxBody) + `"}`, 413, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.do(t, c.token, c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d; body %v", r.status, c.status, r.body)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
	if got := p.params.Snapshot().Float("acme", "SANDBOX", "billing.markup_percent"); got != 20 {
		t.Fatalf("markup for acme = %v, want 20 (dry run must not have changed it)", got)
	}
}

func TestToolListHidesWhatTheCallerMayNotUse(t *testing.T) {
	p := newPlatform(t)
	names := func(token string) map[string]bool {
		r := p.do(t, token, "GET", "/api/v1/tools", "")
		out := map[string]bool{}
		for _, x := range r.body["tools"].([]any) {
			out[x.(map[string]any)["name"].(string)] = true
		}
		return out
	}
	user, admin, op := names("acme-user"), names("acme-admin"), names("op")
	if user["set_parameter"] || !user["get_tenant"] {
		t.Errorf("user sees %v", user)
	}
	if !admin["set_parameter"] || admin["create_tenant"] {
		t.Errorf("tenant admin sees %v", admin)
	}
	if !op["create_tenant"] {
		t.Errorf("operator sees %v", op)
	}
}

func TestEveryCallIsAuditedWithSecretsRedacted(t *testing.T) {
	p := newPlatform(t)
	p.do(t, "acme-admin", "PUT", "/api/v1/parameters/stripe.secret_key", `{"tenant":"acme","mode":"SANDBOX","value":"sk_test_topsecret"}`)
	p.do(t, "acme-user", "GET", "/api/v1/parameters", "")
	p.do(t, "acme-admin", "PUT", "/api/v1/parameters/billing.markup_percent", `{"tenant":"acme","value":"x","confirm":"acme"}`)
	p.audit.Flush()
	recs, err := p.st.QueryAudit(context.Background(), audit.Filter{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var calls []audit.Record
	for _, r := range recs {
		if r.Face == "rest" {
			calls = append(calls, r)
		}
	}
	if len(calls) != 3 {
		t.Fatalf("%d REST audit records, want 3: %+v", len(calls), calls)
	}
	byTool := map[string]audit.Record{}
	for _, r := range calls {
		byTool[r.Action+"/"+r.Verdict] = r
		if strings.Contains(string(r.Input)+string(r.Result)+r.Error, "topsecret") {
			t.Fatalf("a secret reached the audit log: %+v", r)
		}
	}
	set, ok := byTool["set_parameter/allow"]
	if !ok || set.Actor.ID != "acme-admin" || set.Mode != "SANDBOX" || set.Result == nil || !strings.Contains(string(set.Input), params.Redacted) {
		t.Fatalf("set record = %+v", set)
	}
	if deny, ok := byTool["list_parameters/deny"]; !ok || deny.Actor.ID != "acme-user" || !strings.Contains(deny.Error, "pod_admin") {
		t.Fatalf("deny record = %+v (have %v)", deny, byTool)
	}
	var refused int
	for _, r := range calls {
		if r.Action == "set_parameter" && strings.Contains(r.Error, "want a number") && r.Result == nil {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("the invalid set was not recorded with its error: %+v", calls)
	}
}

func TestRateLimitComesFromParameters(t *testing.T) {
	p := newPlatform(t)
	if _, err := p.params.Set(context.Background(), operator, params.SetRequest{Scope: params.Scope{TenantID: "acme"},
		Key: "ratelimit.tool_calls_per_minute", Value: "3", Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		r := p.do(t, "acme-admin", "GET", "/api/v1/parameters?prefix=billing.", "")
		want := 200
		if i == 4 {
			want = 429
		}
		if r.status != want {
			t.Fatalf("call %d: status %d, want %d (%v)", i, r.status, want, r.body)
		}
	}
}

// TestAPublicToolServesVisitorsAndSignedInCallers: a public tool answers a
// request without a credential as an anonymous visitor of the visitors'
// tenant, a signed-in caller as itself, and a bad credential is still a
// 401; the other tools still need a credential.
func TestAPublicToolServesVisitorsAndSignedInCallers(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	type who struct {
		Kind   string `json:"kind"`
		ID     string `json:"id"`
		Tenant string `json:"tenant"`
	}
	err := tools.Register(p.Registry, tools.Def[struct{}, who]{Name: "whoami", Title: "Who am I", Group: tools.ToolsetTenants, Public: true, MinRole: actor.RoleUser,
		ReadOnly: true, Description: "Say who calls.", Method: http.MethodGet, Path: "/whoami",
		Handle: func(_ context.Context, c *tools.Call, _ *struct{}) (who, error) {
			return who{Kind: string(c.Actor.Kind), ID: c.Actor.ID, Tenant: c.Tenant.ID}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewRouter(api.Deps{Tools: p.Registry, Auth: p.Tokens, VisitorTenant: "acme"}))
	defer srv.Close()
	get := func(path, token string) (int, who) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var w who
		_ = json.NewDecoder(res.Body).Decode(&w)
		return res.StatusCode, w
	}
	if code, w := get("/api/v1/whoami", ""); code != http.StatusOK || w.Kind != "anonymous" || w.ID != "127.0.0.1" || w.Tenant != "acme" {
		t.Fatalf("a visitor: %d %+v", code, w)
	}
	if code, w := get("/api/v1/whoami", "acme-user"); code != http.StatusOK || w.Kind != "user" {
		t.Fatalf("a signed-in user: %d %+v", code, w)
	}
	if code, _ := get("/api/v1/whoami", "forged"); code != http.StatusUnauthorized {
		t.Fatalf("a bad credential: %d", code)
	}
	if code, _ := get("/api/v1/pods", ""); code != http.StatusUnauthorized {
		t.Fatalf("another tool without a credential: %d", code)
	}
}
