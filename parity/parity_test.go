// Package parity_test proves that the faces are thin: the same calls made
// through the registry directly, the REST face and the MCP face give the
// same result, the same policy verdict and the same audit record.
package parity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/mcp"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// step is one call of the script, by the token of its actor.
type step struct {
	token string
	tool  string
	input string
}

var script = []step{
	{"acme-admin", "get_parameter", `{"key":"billing.markup_percent"}`},
	{"acme-user", "list_offers", `{"gpu":"H100-SXM-80GB","sort":"topsis","limit":3}`},
	{"acme-user", "list_offers", `{"gpu":"H900"}`},
	{"acme-user", "provider_health", `{"provider":"lambda"}`},
	{"acme-user", "set_parameter", `{"key":"billing.markup_percent","tenant":"acme","value":"20"}`},
	{"acme-admin", "set_parameter", `{"key":"billing.markup_percent","tenant":"acme","value":"20"}`},
	{"acme-admin", "set_parameter", `{"key":"billing.markup_percent","tenant":"acme","value":"20","confirm":"acme"}`},
	{"acme-admin", "set_parameter", `{"key":"billing.markup_percent","tenant":"acme","value":"900","confirm":"acme"}`},
	{"acme-admin", "set_parameter", `{"key":"billing.markup_percent","tenant":"beta","value":"20","confirm":"beta"}`},
	{"acme-admin", "set_parameter", `{"key":"stripe.secret_key","tenant":"acme","mode":"SANDBOX","value":"sk_test_parity"}`},
	{"acme-admin", "switch_mode", `{"tenant":"acme","mode":"LIVE","confirm":"acme"}`},
	{"op", "create_tenant", `{"id":"gamma","name":"Gamma"}`},
	{"op", "create_tenant", `{"id":"delta","name":"Delta","dry_run":true}`},
	{"acme-admin", "list_parameters", `{"prefix":"billing."}`},
	{"acme-admin", "parameter_history", `{"key":"billing.markup_percent","limit":5}`},
}

// outcome is what one face reports for a call, reduced to what must agree.
type outcome struct {
	OK      bool
	Output  any
	Verdict string
	Confirm string
}

// face runs the script's calls one way.
type face func(t *testing.T, p *platformtest.Platform, s step) outcome

func direct(t *testing.T, p *platformtest.Platform, s step) outcome {
	res := p.Registry.Call(context.Background(), tools.Request{Actor: p.Tokens[s.token], Face: "direct", Tool: s.tool, Input: []byte(s.input)})
	o := outcome{OK: res.Err == nil, Verdict: string(res.Verdict.Decision), Confirm: res.Verdict.Confirm}
	if res.Err == nil {
		o.Output = normal(t, res.Output)
	}
	return o
}

func rest(srv string) face {
	return func(t *testing.T, p *platformtest.Platform, s step) outcome {
		m, _ := p.Registry.Tool(s.tool)
		var in map[string]any
		_ = json.Unmarshal([]byte(s.input), &in)
		path := m.Path
		for k, v := range in {
			if seg := "{" + k + "}"; strings.Contains(path, seg) {
				path = strings.ReplaceAll(path, seg, url.PathEscape(v.(string)))
				delete(in, k)
			}
		}
		var body io.Reader
		if m.Method == http.MethodGet || m.Method == http.MethodDelete {
			q := url.Values{}
			for k, v := range in {
				b, _ := json.Marshal(v)
				q.Set(k, strings.Trim(string(b), `"`))
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
		} else {
			b, _ := json.Marshal(in)
			body = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(m.Method, srv+"/api/v1"+path, body)
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode < 300 {
			verdict := "allow"
			return outcome{OK: true, Output: normal(t, out), Verdict: verdict}
		}
		o := outcome{Verdict: "allow"}
		if strings.HasSuffix(out["type"].(string), "/deny") {
			o.Verdict = "deny"
		}
		if c, _ := out["confirm"].(string); c != "" {
			o.Verdict, o.Confirm = "needs_confirmation", c
		}
		if out["rule"] == "input" || resp.StatusCode == http.StatusBadRequest {
			o.Verdict = "deny"
		}
		return o
	}
}

func overMCP(clients map[string]*client.Client) face {
	return func(t *testing.T, p *platformtest.Platform, s step) outcome {
		var args map[string]any
		_ = json.Unmarshal([]byte(s.input), &args)
		req := mcpgo.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = s.tool, args
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := clients[s.token].CallTool(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.IsError {
			var out any
			_ = json.Unmarshal([]byte(res.Content[0].(mcpgo.TextContent).Text), &out)
			return outcome{OK: true, Output: normal(t, out), Verdict: "allow"}
		}
		var info mcp.ErrorInfo
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &info)
		return outcome{Verdict: info.Verdict, Confirm: info.Confirm}
	}
}

// normal renders v as generic JSON with the fields that differ between
// runs (times, ids, durations) removed.
func normal(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	_ = json.Unmarshal(b, &g)
	var strip func(any) any
	strip = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for _, k := range []string{"at", "id", "created_at", "updated_at", "exported_at", "duration_ns", "as_of", "next_cursor", "last_success", "latency_ms"} {
				if _, ok := x[k]; ok && !(k == "id" && x["name"] != nil) {
					delete(x, k)
				}
			}
			for k, v := range x {
				x[k] = strip(v)
			}
		case []any:
			for i := range x {
				x[i] = strip(x[i])
			}
		}
		return x
	}
	return strip(g)
}

func auditOf(t *testing.T, p *platformtest.Platform) []map[string]any {
	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r.Face == "" { // domain events (tenant.create at set-up…)
			continue
		}
		var in any
		_ = json.Unmarshal(r.Input, &in)
		var res any
		if r.Result != nil {
			_ = json.Unmarshal(r.Result, &res)
		}
		out = append(out, map[string]any{"actor": r.Actor, "tenant": r.TenantID, "mode": r.Mode, "tool": r.Action,
			"input": normal(t, in), "result": normal(t, res), "verdict": r.Verdict, "error": r.Error})
	}
	return out
}

// mcpClients serves the platform's MCP face on a test server and connects
// one initialized client per token.
func mcpClients(t *testing.T, p *platformtest.Platform) map[string]*client.Client {
	srv := mcp.NewServer(p.Registry, "test", nil)
	hs := httptest.NewServer(api.NewRouter(api.Deps{Health: p.Store, Mount: func(r chi.Router) {
		r.With(api.Authenticate(p.Tokens, nil)).Handle("/mcp", mcp.HTTPHandler(srv))
	}}))
	t.Cleanup(hs.Close)
	clients := map[string]*client.Client{}
	for token := range p.Tokens {
		c, err := client.NewStreamableHttpClient(hs.URL+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		init := mcpgo.InitializeRequest{}
		init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
		if _, err := c.Initialize(context.Background(), init); err != nil {
			t.Fatal(err)
		}
		clients[token] = c
	}
	return clients
}

func TestSameCallsGiveTheSameResultsOnEveryFace(t *testing.T) {
	run := func(name string, setup func(t *testing.T, p *platformtest.Platform) face) ([]outcome, []map[string]any) {
		p := platformtest.New(t, "sqlite")
		f := setup(t, p)
		var outs []outcome
		for _, s := range script {
			outs = append(outs, f(t, p, s))
		}
		return outs, auditOf(t, p)
	}
	directOut, directAudit := run("direct", func(*testing.T, *platformtest.Platform) face { return direct })
	restOut, restAudit := run("rest", func(t *testing.T, p *platformtest.Platform) face {
		srv := httptest.NewServer(api.NewRouter(api.Deps{Health: p.Store, Tools: p.Registry, Auth: p.Tokens}))
		t.Cleanup(srv.Close)
		return rest(srv.URL)
	})
	mcpOut, mcpAudit := run("mcp", func(t *testing.T, p *platformtest.Platform) face {
		return overMCP(mcpClients(t, p))
	})
	for i, s := range script {
		name := s.token + " " + s.tool + " " + s.input
		if !reflect.DeepEqual(directOut[i], restOut[i]) {
			t.Errorf("call %d (%s): REST %+v, direct %+v", i, name, restOut[i], directOut[i])
		}
		if !reflect.DeepEqual(directOut[i], mcpOut[i]) {
			t.Errorf("call %d (%s): MCP %+v, direct %+v", i, name, mcpOut[i], directOut[i])
		}
	}
	if len(directAudit) != len(script) || len(restAudit) != len(script) || len(mcpAudit) != len(script) {
		t.Fatalf("audit records: direct %d, REST %d, MCP %d; want %d each", len(directAudit), len(restAudit), len(mcpAudit), len(script))
	}
	for i := range script {
		if !reflect.DeepEqual(directAudit[i], restAudit[i]) {
			t.Errorf("audit %d: REST %v\n direct %v", i, restAudit[i], directAudit[i])
		}
		if !reflect.DeepEqual(directAudit[i], mcpAudit[i]) {
			t.Errorf("audit %d: MCP %v\n direct %v", i, mcpAudit[i], directAudit[i])
		}
	}
	wantVerdicts := []string{"allow", "allow", "deny", "allow", "deny", "needs_confirmation", "allow", "allow", "deny", "allow", "allow", "allow", "allow", "allow", "allow"}
	for i, w := range wantVerdicts {
		if directOut[i].Verdict != w {
			t.Errorf("call %d verdict %s, want %s", i, directOut[i].Verdict, w)
		}
	}
	for i := range script {
		t.Logf("call %d: %s → ok=%v verdict=%s confirm=%q audit=%v", i, script[i].tool, directOut[i].OK, directOut[i].Verdict, directOut[i].Confirm, directAudit[i]["error"])
	}
}
