package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
)

// logBuffer collects JSON log lines from concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(t *testing.T) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestEveryRequestIsLoggedAndTraceable: each request leaves one log line
// with its method, route pattern, status, duration, request id, tenant and
// actor; the audit record of the tool call names the same request id; a
// panic is answered 500 and logged with the same facts and its stack.
func TestEveryRequestIsLoggedAndTraceable(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := httptest.NewServer(api.NewRouter(api.Deps{Log: log, Health: p.Store, Tools: p.Registry, Auth: p.Tokens,
		Mount: func(r chi.Router) {
			r.With(api.Authenticate(p.Tokens, nil)).Get("/boom/{n}", func(http.ResponseWriter, *http.Request) { panic("no disk") })
		}}))
	t.Cleanup(srv.Close)
	get := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer acme-user")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("/api/v1/tenants/acme"); resp.StatusCode != http.StatusOK {
		t.Fatalf("get_tenant: %d", resp.StatusCode)
	}
	if resp := get("/api/v1/tenants/beta"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another tenant: %d", resp.StatusCode)
	}
	resp := get("/boom/1")
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a panic answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	lines := logs.lines(t)
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want one per request: %v", len(lines), lines)
	}
	want := []struct {
		msg, route string
		status     float64
	}{
		{"request", "/api/v1/tenants/{tenant}", 200},
		{"request", "/api/v1/tenants/{tenant}", 403},
		{"request panicked", "/boom/{n}", 500},
	}
	for i, w := range want {
		l := lines[i]
		if l["msg"] != w.msg || l["method"] != "GET" || l["route"] != w.route || l["status"] != w.status ||
			l["tenant"] != "acme" || l["actor"] != "user:acme-user" || l["request_id"] == "" || l["duration"] == nil {
			t.Errorf("log line %d: %v", i, l)
		}
	}
	if !strings.Contains(lines[2]["stack"].(string), "requestlog") || lines[2]["panic"] != "no disk" {
		t.Errorf("the panic line lacks its cause or stack: %v", lines[2])
	}

	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(context.Background(), audit.Filter{Action: "get_tenant"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit: %v %v", recs, err)
	}
	for i, r := range recs { // newest first
		if r.RequestID != lines[1-i]["request_id"] {
			t.Errorf("audit record %d names request %q; its log line %q", i, r.RequestID, lines[1-i]["request_id"])
		}
	}
}
