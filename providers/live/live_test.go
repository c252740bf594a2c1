package live

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
)

// TestEveryAdapterIsASupportedProvisioner checks the list against the
// supported providers: each adapter answers for its own id, manages
// instances, and takes only credentials the provider declares.
func TestEveryAdapterIsASupportedProvisioner(t *testing.T) {
	supported := map[string]bool{}
	for _, p := range providers.Supported {
		supported[p.ID] = true
	}
	for _, id := range IDs() {
		if !supported[id] {
			t.Errorf("adapter %s is not in providers.Supported", id)
		}
		a, ok := New(id, providers.Config{Credentials: map[string]string{}})
		if !ok || a.Provider() != id {
			t.Errorf("adapter %s answers as %q", id, a.Provider())
		}
		if _, ok := a.(providers.Provisioner); !ok {
			t.Errorf("adapter %s cannot manage instances", id)
		}
	}
	if _, ok := New("nope", providers.Config{}); ok {
		t.Error("an unknown provider must have no adapter")
	}
}

// replays matches a test that lists an adapter's recorded answers through
// providertest's conformance checks, which hold the offers to the shapes.
var replays = regexp.MustCompile(`\b(pt|providertest)\.(Run|CheckShapes)\(`)

// TestEveryAdapterDeclaresItsShapes checks that every adapter declares
// well-formed shapes (GPU counts positive and ascending, ranges with
// 0 < Min <= Max, regions present and unique) and that its own tests
// replay its recorded answers through providertest, which fails any
// listed offer outside those shapes.
func TestEveryAdapterDeclaresItsShapes(t *testing.T) {
	for _, id := range IDs() {
		t.Run(id, func(t *testing.T) {
			a, _ := New(id, providers.Config{Credentials: map[string]string{}})
			sh, ok := a.(providers.Shaper)
			if !ok {
				t.Fatal("the adapter declares no shapes (providers.Shaper)")
			}
			if err := sh.Shapes().Validate(); err != nil {
				t.Fatalf("shapes: %v", err)
			}
			files, err := filepath.Glob(filepath.Join("..", id, "*_test.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if replays.Match(b) {
					return
				}
			}
			t.Error("no test replays the recorded listing through providertest.Run or providertest.CheckShapes")
		})
	}
}

// TestEveryAdapterFailsTypedOnAnyBadAnswer points every adapter at a
// server answering garbage, then 500, then nothing useful: each must
// return a typed provider error and never panic.
func TestEveryAdapterFailsTypedOnAnyBadAnswer(t *testing.T) {
	for _, answer := range []struct {
		name   string
		status int
		body   string
	}{{"garbage", 200, "<<<not json or xml"}, {"server error", 500, `{"message":"boom"}`}, {"empty", 200, ""}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(answer.status)
			_, _ = w.Write([]byte(answer.body))
		}))
		for _, id := range IDs() {
			a, _ := New(id, providers.Config{BaseURL: srv.URL, Credentials: map[string]string{}})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			offers, err := a.ListOffers(ctx)
			cancel()
			if err == nil && len(offers) > 0 {
				t.Errorf("%s on %s: %d offers from nothing", id, answer.name, len(offers))
			}
			if err != nil && providers.KindOf(err) == "" {
				t.Errorf("%s on %s: untyped error %v", id, answer.name, err)
			}
		}
		srv.Close()
	}
}
