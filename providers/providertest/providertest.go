// Package providertest serves recorded provider responses from testdata
// files through httptest and checks adapters' offers against the
// normalized schema and the shapes the adapters declare. It is for tests
// only.
package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
)

// Route answers one call with a recorded file.
type Route struct {
	// Method and Path match the request ("GET", "/api/v1/instance-types").
	Method string
	Path   string
	// File is read from testdata/ and sent as the body; empty sends Body.
	File string
	Body string
	// Status defaults to 200.
	Status int
	// Contains, when set, matches only requests whose body contains it
	// (GraphQL APIs answer every operation at one path).
	Contains string
	// Query, when set, matches only requests whose raw query contains it
	// (the next page of a listing); such routes are tried first.
	Query string
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
		reqBody, _ := io.ReadAll(r.Body)
		ordered := make([]Route, 0, len(routes))
		for _, rt := range routes {
			if rt.Query != "" {
				ordered = append(ordered, rt)
			}
		}
		for _, rt := range routes {
			if rt.Query == "" {
				ordered = append(ordered, rt)
			}
		}
		for _, rt := range ordered {
			if rt.Method != r.Method || rt.Path != r.URL.Path || !strings.Contains(string(reqBody), rt.Contains) ||
				!strings.Contains(r.URL.RawQuery, rt.Query) {
				continue
			}
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
			if rt.Check != nil {
				if err := rt.Check(r); err != nil {
					t.Errorf("%s %s: %v", r.Method, r.URL.Path, err)
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
			}
			body := []byte(rt.Body)
			if rt.File != "" {
				b, err := os.ReadFile(filepath.Join("testdata", rt.File))
				if err != nil {
					t.Errorf("recorded response: %v", err)
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				body = b
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

// CheckShapes fails the test unless the adapter declares well-formed
// shapes (providers.Shaper) and every offer it listed holds within them:
// shapes that disagree with what the provider really answers are wrong.
func CheckShapes(t testing.TB, a providers.Adapter, offers []providers.Offer) {
	t.Helper()
	sh, ok := a.(providers.Shaper)
	if !ok {
		t.Fatalf("%s: the adapter declares no shapes (providers.Shaper)", a.Provider())
	}
	s := sh.Shapes()
	if err := s.Validate(); err != nil {
		t.Fatalf("%s shapes: %v", a.Provider(), err)
	}
	for _, o := range offers {
		if ps := s.Holds(o); len(ps) > 0 {
			t.Errorf("%s offer %s/%s is outside the declared shapes: %v", a.Provider(), o.SKU, o.Region, ps)
		}
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

// Want is what a test expects of one listed offer.
type Want struct {
	SKU, Region  string
	GPU          string
	Count        int
	Price        float64
	Spot         float64
	Availability providers.Availability
}

// Call is one adapter call a suite makes, with the error kind it must
// return ("" for success).
type Call struct {
	Name string
	// Routes answer the call (recorded files).
	Routes []Route
	Do     func(ctx context.Context, a providers.Adapter) error
	Want   error
}

// Suite is the standard battery every LIVE adapter passes: its listing
// against the normalized schema and its declared shapes, an auth failure,
// a 429 with Retry-After, a malformed answer, and its lifecycle and
// provider-specific errors.
type Suite struct {
	// New builds the adapter against the test server, with test
	// credentials.
	New func(baseURL string) providers.Adapter
	// Auth checks the credentials on every request of the listing.
	Auth func(*http.Request) error
	// List answers the listing; List[0] is the call the failure cases
	// replace.
	List   []Route
	Offers int // how many offers the recorded listing holds
	Expect []Want
	// Calls are lifecycle steps and provider-specific error cases.
	Calls []Call
	// AuthFile and RateFile name the recorded bodies of the 401 and 429
	// cases when they are not unauthorized.json and rate_limited.json.
	AuthFile, RateFile string
}

// Run runs the suite.
func Run(t *testing.T, s Suite) {
	t.Helper()
	ctx := context.Background()
	t.Run("the listing maps onto the offer schema", func(t *testing.T) {
		routes := withCheck(s.List, s.Auth)
		srv, _ := Server(t, routes...)
		a := s.New(srv.URL)
		offers, err := a.ListOffers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		CheckOffers(t, a.Provider(), offers)
		CheckShapes(t, a, offers)
		if s.Offers > 0 && len(offers) != s.Offers {
			t.Errorf("%d offers, want %d", len(offers), s.Offers)
		}
		for _, w := range s.Expect {
			o := Find(t, offers, w.SKU, w.Region)
			if o.GPU != w.GPU || o.GPUCount != w.Count || math.Abs(o.PriceHour-w.Price) > 1e-6 ||
				math.Abs(o.SpotPriceHour-w.Spot) > 1e-6 || (w.Availability != "" && o.Availability != w.Availability) {
				t.Errorf("offer %s/%s = %s ×%d $%v spot $%v %s; want %s ×%d $%v spot $%v %s", w.SKU, w.Region,
					o.GPU, o.GPUCount, o.PriceHour, o.SpotPriceHour, o.Availability, w.GPU, w.Count, w.Price, w.Spot, w.Availability)
			}
		}
	})
	failing := func(name string, r Route, want error, retry time.Duration) {
		t.Run(name, func(t *testing.T) {
			first := s.List[0]
			r.Method, r.Path = first.Method, first.Path
			routes := append([]Route{r}, s.List[1:]...)
			srv, _ := Server(t, routes...)
			_, err := s.New(srv.URL).ListOffers(ctx)
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want kind %v", err, want)
			}
			var pe *providers.Error
			if retry > 0 && (!errors.As(err, &pe) || pe.RetryAfter != retry) {
				t.Fatalf("retry after = %v, want %v", pe.RetryAfter, retry)
			}
		})
	}
	failing("a refused credential is an auth error", Route{File: fileOr(s, "unauthorized.json"), Status: http.StatusUnauthorized}, providers.ErrAuth, 0)
	failing("a 429 is a rate limit that keeps its Retry-After", Route{File: fileOr(s, "rate_limited.json"), Status: http.StatusTooManyRequests,
		Header: map[string]string{"Retry-After": "7"}}, providers.ErrRateLimit, 7*time.Second)
	failing("a 500 is unavailable", Route{Body: `{"message":"internal server error"}`, Status: http.StatusInternalServerError}, providers.ErrUnavailable, 0)
	failing("a malformed answer is a bad response", Route{File: "malformed.json"}, providers.ErrBadResponse, 0)
	for _, c := range s.Calls {
		t.Run(c.Name, func(t *testing.T) {
			srv, _ := Server(t, withCheck(c.Routes, s.Auth)...)
			err := c.Do(ctx, s.New(srv.URL))
			if c.Want == nil && err != nil {
				t.Fatal(err)
			}
			if c.Want != nil && !errors.Is(err, c.Want) {
				t.Fatalf("err = %v, want kind %v", err, c.Want)
			}
		})
	}
}

// fileOr uses the recorded error body when the test has one.
func fileOr(s Suite, name string) string {
	switch {
	case name == "unauthorized.json" && s.AuthFile != "":
		return s.AuthFile
	case name == "rate_limited.json" && s.RateFile != "":
		return s.RateFile
	}
	if _, err := os.Stat(filepath.Join("testdata", name)); err == nil {
		return name
	}
	return "malformed.json"
}

func withCheck(rs []Route, check func(*http.Request) error) []Route {
	out := make([]Route, len(rs))
	for i, r := range rs {
		if r.Check == nil {
			r.Check = check
		}
		out[i] = r
	}
	return out
}

// Fuzz runs a decoder over the seed files and fuzzed inputs: it must not
// panic, and every offer it returns must, once normalized, be valid.
func Fuzz(f *testing.F, decode func([]byte) ([]providers.Offer, error), seeds ...string) {
	for _, name := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		offers, err := decode(b)
		if err != nil {
			return
		}
		for _, o := range offers {
			o.Normalize(time.Unix(0, 0))
			if err := o.Validate(); err != nil {
				t.Fatalf("decoded an invalid offer %+v: %v", o, err)
			}
		}
	})
}

// Expect checks a lifecycle answer.
func Expect(cond bool, format string, args ...any) error {
	if !cond {
		return fmt.Errorf(format, args...)
	}
	return nil
}

// Read returns a recorded file from testdata/, failing the test when it
// cannot be read.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
