package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/web"
)

// BenchmarkLandingPage measures the front page's server time, in
// process: the market overview from the cached catalogue and the
// rendering (p50 and p99).
func BenchmarkLandingPage(b *testing.B) {
	p := platformtest.New(b, "sqlite")
	if _, err := p.Params.Set(context.Background(), actor.System("bench"), params.SetRequest{Key: "ratelimit.tool_calls_per_minute",
		Value: "1000000", Confirm: "global"}); err != nil {
		b.Fatal(err)
	}
	pages, err := web.New(web.Deps{Tools: p.Registry, VisitorTenant: "acme", Identity: p.Identity, Sessions: p.Store, Sealer: p.Sealer,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	pages.Mount(r)
	get := func() time.Duration {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		w := httptest.NewRecorder()
		start := time.Now()
		r.ServeHTTP(w, req)
		d := time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		return d
	}
	get() // the first call fills the catalogue
	var lat []time.Duration
	for b.Loop() {
		lat = append(lat, get())
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
