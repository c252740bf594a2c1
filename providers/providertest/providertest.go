// Package providertest serves recorded provider responses from testdata
// files through httptest and checks adapters' offers against the
// normalized schema. It is for tests only.
package providertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpubroker/pod/providers"
)

// Route answers one call with a recorded file.
type Route struct {
	// Method and Path match the request ("GET", "/api/v1/instance-types").
	Method string
	Path   string
	// File is read from testdata/ and sent as the body.
	File string
	// Status defaults to 200.
	Status int
	// Header is added to the answer (Retry-After, …).
	Header map[string]string
	// Check inspects the request (auth header, query, body) and returns an
	// error that fails the test.
	Check func(*http.Request) error
}

// Server serves the routes; an unmatched request fails the test and gets a
// 404. It returns the server and a function that lists the calls seen.
func Server(t testing.TB, routes ...Route) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		for _, rt := range routes {
			if rt.Method != r.Method || rt.Path != r.URL.Path {
				continue
			}
			if rt.Check != nil {
				if err := rt.Check(r); err != nil {
					t.Errorf("%s %s: %v", r.Method, r.URL.Path, err)
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
			}
			body, err := os.ReadFile(filepath.Join("testdata", rt.File))
			if err != nil {
				t.Errorf("recorded response: %v", err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			for k, v := range rt.Header {
				w.Header().Set(k, v)
			}
			if w.Header().Get("Content-Type") == "" {
				w.Header().Set("Content-Type", "application/json")
			}
			status := rt.Status
			if status == 0 {
				status = http.StatusOK
			}
			w.WriteHeader(status)
			_, _ = w.Write(body)
			return
		}
		t.Errorf("unexpected call %s %s", r.Method, r.URL.String())
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// Header returns a Check that requires a header value.
func Header(name, want string) func(*http.Request) error {
	return func(r *http.Request) error {
		if got := r.Header.Get(name); got != want {
			return fmt.Errorf("header %s = %q, want %q", name, got, want)
		}
		return nil
	}
}

// CheckOffers fails the test for any offer that breaks the normalized
// schema: a missing id, provider or region; an unmapped GPU; no GPUs; no
// price; a negative spot price; an unknown availability.
func CheckOffers(t testing.TB, provider string, offers []providers.Offer) {
	t.Helper()
	if len(offers) == 0 {
		t.Fatalf("%s: no offers", provider)
	}
	ids := map[string]bool{}
	for _, o := range offers {
		if err := o.Validate(); err != nil {
			t.Errorf("%s offer %s/%s: %v", provider, o.SKU, o.Region, err)
		}
		if o.Provider != provider {
			t.Errorf("offer %s: provider %q, want %q", o.ID, o.Provider, provider)
		}
		if strings.HasPrefix(o.GPU, providers.Unknown) {
			t.Errorf("offer %s/%s: GPU %q has no canonical mapping", o.SKU, o.Region, o.GPU)
		}
		if ids[o.ID] {
			t.Errorf("offer id %s repeated (%s/%s)", o.ID, o.SKU, o.Region)
		}
		ids[o.ID] = true
	}
}

// Find returns the offer with that SKU and region, failing the test when
// there is none.
func Find(t testing.TB, offers []providers.Offer, sku, region string) providers.Offer {
	t.Helper()
	for _, o := range offers {
		if o.SKU == sku && o.Region == region {
			return o
		}
	}
	t.Fatalf("no offer %s in %s among %d", sku, region, len(offers))
	return providers.Offer{}
}
