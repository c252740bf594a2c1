package browser_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/app"
)

// BenchmarkLandingLoadInChromium measures what a person waits for on the
// front page: from the start of a navigation to the end of its load
// event (the page, its stylesheet and images), as headless Chromium
// records it in the Navigation Timing entry, with the seeded platform
// on loopback. Each operation is a new navigation to /; "cold" empties
// the browser's HTTP cache first, as on a first visit, "warm" keeps what
// the previous visit cached. It reports the p50 and p99 in milliseconds;
// in the second that make bench gives each, a p99 is the slowest of a few
// dozen visits, so run it with -benchtime 100x (about 15 s) for a real
// one. Without Chromium it is skipped.
func BenchmarkLandingLoadInChromium(b *testing.B) {
	path := chromiumPath(b)
	url := seededPlatform(b)
	ctx := benchBrowser(b, path)
	// The first visit starts the renderer and fills the catalogue: it is
	// no one's typical wait.
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/")); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cold bool
	}{{"cold", true}, {"warm", false}} {
		b.Run(c.name, func(b *testing.B) {
			var loads []float64
			for b.Loop() {
				steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(url + "/")}
				if c.cold {
					steps = append([]chromedp.Action[chromedp.Void]{clearCache}, steps...)
				}
				if err := chromedp.Do(ctx, steps...); err != nil {
					b.Fatal(err)
				}
				ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByType("navigation")[0].loadEventEnd`))
				if err != nil {
					b.Fatal(err)
				}
				loads = append(loads, ms)
			}
			slices.Sort(loads)
			b.ReportMetric(loads[len(loads)/2], "p50-ms")
			b.ReportMetric(loads[len(loads)*99/100], "p99-ms")
		})
	}
}

// clearCache empties the browser's HTTP cache.
var clearCache = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{})
	return err
})

// chromiumPath finds the browser as chromium does, for a benchmark: one
// without a browser is skipped, under CI too (make bench is not CI's).
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Skip("no chromium: make test-deps installs it")
	return ""
}

// seededPlatform is platformApp for a test or a benchmark: the seeded
// platform on loopback, and its URL.
func seededPlatform(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{DataDir: tb.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	tb.Cleanup(srv.Close)
	return srv.URL
}

// benchBrowser starts headless Chromium with the browser tests' flags and
// answers its tab's context, started.
func benchBrowser(tb testing.TB, path string) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(tb.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}
