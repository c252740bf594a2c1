package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

// BenchmarkRESTRead measures one authenticated read through the whole
// router in process — request id and log line (JSON, formatted and
// discarded), authentication, the tool pipeline, the queued audit record
// and the encoded answer — without the network, so its allocations show
// what the REST face adds per request.
func BenchmarkRESTRead(b *testing.B) {
	p := platformtest.New(b, "sqlite")
	if _, err := p.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{Scope: params.Scope{TenantID: "acme"},
		Key: "ratelimit.tool_calls_per_minute", Value: "1000000", Confirm: "acme"}); err != nil {
		b.Fatal(err)
	}
	h := api.NewRouter(api.Deps{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Health: p.Store, Tools: p.Registry, Auth: p.Tokens})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/tenants/acme", nil)
	req.Header.Set("Authorization", "Bearer acme-admin")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
