package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/web"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _ := serverOf(t)
	return srv
}

// serverOf serves the pages of a test platform (visitors in acme, a
// SANDBOX tenant) on loopback, on the platform's clock.
func serverOf(t *testing.T) (*httptest.Server, *platformtest.Platform) {
	t.Helper()
	p := platformtest.New(t, "sqlite")
	pages, err := web.New(web.Deps{Tools: p.Registry, VisitorTenant: "acme", Identity: p.Identity, Sessions: p.Store, Sealer: p.Sealer,
		Now: p.Clock.Now, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	pages.Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, p
}

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// external finds any URL of another origin a page would load or send to.
var external = regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`)

// TestTheLandingPageShowsTheCheapestOfferPerGPUAndTheWaysIn: the front
// page is one document in English with its landmarks, the hero and its
// two calls to action, a row per popular GPU with the cheapest price
// now, the providers as badges, and nothing from another origin; the
// headers allow nothing but our origin.
func TestTheLandingPageShowsTheCheapestOfferPerGPUAndTheWaysIn(t *testing.T) {
	srv := server(t)
	resp, body := get(t, srv, "/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	for _, want := range []string{`<html lang="en">`, `<header class="site-header">`, `<nav aria-label="Main">`, `<main id="main"`, `<footer`,
		`href="#main">Skip to content`, `>Get started</a>`, `>View pricing</a>`, `<tr data-gpu="H100-SXM-80GB">`, `class="badge"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the landing page lacks %s", want)
		}
	}
	prices := regexp.MustCompile(`<td class="price"><a href="/offers/[a-z0-9-]+" aria-label="[^"]+">\$[0-9.,]+/h</a></td>`).FindAllString(body, -1)
	if len(prices) < 5 {
		t.Errorf("%d GPUs priced on the landing page", len(prices))
	}
	if m := external.FindString(body); m != "" {
		t.Errorf("the page reaches another origin: %s", m)
	}
}

// TestThePlansPageComparesThePlansAndKeepsTheChoice: FREE, PRO and
// ENTERPRISE with their prices, PRO marked, each choice leading to
// registration with the plan (and the annual interval when shown), and
// the comparison table.
func TestThePlansPageComparesThePlansAndKeepsTheChoice(t *testing.T) {
	srv := server(t)
	resp, body := get(t, srv, "/plans")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{`id="plan-free"`, `id="plan-pro"`, `id="plan-enterprise"`, `class="plan recommended"`,
		`href="/register?plan=pro"`, `<table class="compare">`, `data-shown="monthly"`, `src="/static/plans.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the plans page lacks %s", want)
		}
	}
	_, body = get(t, srv, "/plans?interval=annual")
	if !strings.Contains(body, `data-shown="annual"`) || !strings.Contains(body, `href="/register?plan=pro&amp;interval=annual"`) {
		t.Error("the annual view does not keep the interval")
	}
}

// TestAssetsAreServedFromTheBinaryAndAnUnknownPageIsNotFound.
func TestAssetsAreServedFromTheBinaryAndAnUnknownPageIsNotFound(t *testing.T) {
	srv := server(t)
	for path, typ := range map[string]string{"/static/app.css": "text/css", "/static/plans.js": "text/javascript", "/static/mark.svg": "image/svg+xml"} {
		resp, body := get(t, srv, path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), typ) || body == "" {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	resp, _ := get(t, srv, "/static/nothing.css")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing asset: %d", resp.StatusCode)
	}
	resp, body := get(t, srv, "/no/such/page")
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "There is no such page.") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("an unknown page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Signed in, the error page still says who is.
	c := signedIn(t, srv, "eve@example.com")
	if status, body, _ := page(t, c, srv.URL, "/no/such/page"); status != http.StatusNotFound || !strings.Contains(body, "eve@example.com") {
		t.Errorf("an unknown page, signed in: %d", status)
	}
	if status, body, _ := page(t, c, srv.URL, "/pods/pod_nobody"); status != http.StatusNotFound || !strings.Contains(body, "eve@example.com") {
		t.Errorf("a pod that is not there, signed in: %d", status)
	}
}

// TestAMailedLinkToOurPagesOpensOnThisOrigin: the mailbox keeps a link to
// the activation or verification page on the origin the person is on;
// any other link is left as it is.
func TestAMailedLinkToOurPagesOpensOnThisOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:8080/pods/pod_1/activate?token=abc": "/pods/pod_1/activate?token=abc",
		"https://pod.example/verify-email?token=x%2By":        "/verify-email?token=x%2By",
		"https://docs.example/guide":                          "https://docs.example/guide",
	} {
		if got := web.MailLink(raw); got != want {
			t.Errorf("MailLink(%q) = %q, want %q", raw, got, want)
		}
	}
}
