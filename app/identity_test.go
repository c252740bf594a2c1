package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/params"
)

func setGlobal(ctx context.Context, t testing.TB, a *App, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Key: kv[i], Value: kv[i+1], Confirm: "global"}); err != nil {
			t.Fatalf("set %s: %v", kv[i], err)
		}
	}
}

// openFreePlan lets FREE deploy every GPU, any number of pods at once, for
// the tests that are not about plans (their actors hold FREE).
func openFreePlan(ctx context.Context, t testing.TB, a *App) {
	t.Helper()
	setGlobal(ctx, t, a, "plans.free.gpu_classes", "*", "plans.free.max_running_pods", "0")
}

// TestSignInWithAProviderReadsItsParameters: the OAuth app's id, its
// endpoints and the platform's address come from the parameters, and an
// https address makes the state cookie secure.
func TestSignInWithAProviderReadsItsParameters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	h := a.Handler()
	start := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/auth/oauth/github/start", nil))
		return w
	}
	if w := start(); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("without an app at GitHub: %d %s", w.Code, w.Body)
	}
	setGlobal(ctx, t, a, "platform.base_url", "https://gpu.example", "auth.oauth.github.client_id", "Iv1.abc",
		"auth.oauth.github.client_secret", "gh-secret", "auth.oauth.github.auth_url", "https://sso.example/authorize")
	w := start()
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc == nil || loc.Host != "sso.example" || loc.Query().Get("client_id") != "Iv1.abc" ||
		loc.Query().Get("redirect_uri") != "https://gpu.example/auth/oauth/github/callback" {
		t.Fatalf("start: %d, to %s", w.Code, loc)
	}
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure || !c[0].HttpOnly {
		t.Fatalf("state cookie = %+v", c)
	}
}

// TestRegisteringWithCognitoUsesThePlatformsAWSSetup: with auth.provider
// cognito, a visitor's registration reaches the user pool at the
// platform's AWS endpoint with the app client's secret hash, and a
// SANDBOX tenant's account is confirmed with the platform's credentials.
func TestRegisteringWithCognitoUsesThePlatformsAWSSetup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Static credentials, so the SDK never looks for an instance role.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var mu sync.Mutex
	calls := map[string]map[string]any{}
	pool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		calls[op] = body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if op == "SignUp" {
			_, _ = w.Write([]byte(`{"UserConfirmed":false,"UserSub":"5d1c0a0e-sub"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(pool.Close)
	a, err := New(ctx, Config{DataDir: t.TempDir(), AWSEndpoint: pool.URL}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	setGlobal(ctx, t, a, "auth.provider", "cognito", "auth.cognito.issuer", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool1",
		"auth.cognito.client_id", "client-1", "auth.cognito.client_secret", "client-secret")

	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/register",
		strings.NewReader(`{"email":"ana@example.com","password":"violet-kettle-orbit-7","name":"Ana"}`))
	req.Header.Set("Content-Type", "application/json")
	a.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"status":"confirmed"`) {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if su := calls["SignUp"]; su["ClientId"] != "client-1" || su["Username"] != "ana@example.com" || su["SecretHash"] == nil {
		t.Fatalf("SignUp = %v", su)
	}
	if ac := calls["AdminConfirmSignUp"]; ac["UserPoolId"] != "eu-west-1_Pool1" {
		t.Fatalf("AdminConfirmSignUp = %v", ac)
	}
	if u, err := a.Store.UserByEmail(ctx, "ana@example.com"); err != nil || u.ID != "cognito:5d1c0a0e-sub" || !u.EmailVerified {
		t.Fatalf("profile = %+v, %v", u, err)
	}
}

// TestTheBaseURLFollowsTheListenAddress: until platform.base_url is set,
// the links the platform mails point where it listens (loopback for every
// interface).
func TestTheBaseURLFollowsTheListenAddress(t *testing.T) {
	for addr, want := range map[string]string{"127.0.0.1:18099": "http://127.0.0.1:18099", ":9000": "http://127.0.0.1:9000",
		"0.0.0.0:8443": "http://127.0.0.1:8443", "[::]:7000": "http://127.0.0.1:7000", "gpu.example:80": "http://gpu.example:80", "nonsense": "http://127.0.0.1:8080"} {
		if got := baseURLOf(addr); got != want {
			t.Errorf("%q: %q; want %q", addr, got, want)
		}
	}
	ctx := context.Background()
	a, err := New(ctx, Config{DataDir: t.TempDir(), Addr: "127.0.0.1:18099"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Params.Snapshot().BaseURL(); got != "http://127.0.0.1:18099" {
		t.Fatalf("base URL %q", got)
	}
	setGlobal(ctx, t, a, "platform.base_url", "https://gpu.example/")
	if got := a.Params.Snapshot().BaseURL(); got != "https://gpu.example" {
		t.Fatalf("base URL once set: %q", got)
	}
}
