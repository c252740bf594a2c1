package api_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/web"
)

// person is someone with an account at a fake provider.
type person struct {
	Sub      string // Google's sub, or GitHub's numeric id
	Login    string // GitHub
	Email    string
	Verified bool
	Name     string
}

type grant struct {
	challenge, redirect string
	who                 person
}

// fakeProvider is an OAuth provider on loopback: Google (authorize,
// token, OpenID userinfo) or GitHub (authorize, token, /user and
// /user/emails). Its token endpoint checks the PKCE verifier against the
// challenge authorize received.
type fakeProvider struct {
	t        *testing.T
	kind     string
	srv      *httptest.Server
	clientID string
	secret   string

	mu      sync.Mutex
	next    person // who signs in at the next authorize
	deny    bool   // the person declines
	tamper  bool   // keep a challenge the verifier will not match
	grants  map[string]grant
	tokens  map[string]person
	checked int // PKCE verifiers that matched
}

func newFakeProvider(t *testing.T, kind string) *fakeProvider {
	f := &fakeProvider{t: t, kind: kind, clientID: kind + "-client", secret: kind + "-secret",
		grants: map[string]grant{}, tokens: map[string]person{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	mux.HandleFunc("GET /api/user", f.githubUser)
	mux.HandleFunc("GET /api/user/emails", f.githubEmails)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) app() auth.OAuthClient {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := auth.OAuthClient{ClientID: f.clientID, ClientSecret: f.secret, AuthURL: f.srv.URL + "/authorize", TokenURL: f.srv.URL + "/token"}
	if f.kind == "google" {
		c.ProfileURL = f.srv.URL + "/userinfo"
	} else {
		c.ProfileURL = f.srv.URL + "/api"
	}
	return c
}

func (f *fakeProvider) setSecret(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret = s
}

func (f *fakeProvider) signsIn(p person) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next, f.deny, f.tamper = p, false, false
}

func random() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (f *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scope := map[string]string{"google": "openid email profile", "github": "read:user user:email"}[f.kind]
	if q.Get("client_id") != f.clientID || q.Get("response_type") != "code" || q.Get("scope") != scope ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" ||
		!strings.HasSuffix(q.Get("redirect_uri"), "/auth/oauth/"+f.kind+"/callback") {
		f.t.Errorf("%s authorize: bad request %s", f.kind, r.URL.RawQuery)
		http.Error(w, "bad request", 400)
		return
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"state": {q.Get("state")}}
	f.mu.Lock()
	if f.deny {
		v.Set("error", "access_denied")
	} else {
		code := random()
		g := grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), who: f.next}
		if f.tamper {
			g.challenge = strings.Repeat("A", 43)
		}
		f.grants[code] = g
		v.Set("code", code)
	}
	f.mu.Unlock()
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	refuse := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Form.Get("grant_type") != "authorization_code" || r.Form.Get("client_id") != f.clientID || r.Form.Get("client_secret") != f.secret {
		refuse("invalid_client")
		return
	}
	g, ok := f.grants[r.Form.Get("code")]
	delete(f.grants, r.Form.Get("code"))
	sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
	switch {
	case !ok || g.redirect != r.Form.Get("redirect_uri"):
		refuse("invalid_grant")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		refuse("invalid_grant") // the PKCE verifier does not match the challenge
		return
	}
	f.checked++
	access := "at-" + random()
	f.tokens[access] = g.who
	if f.kind == "github" && !strings.Contains(r.Header.Get("Accept"), "json") {
		// GitHub answers a form unless asked for JSON.
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = io.WriteString(w, url.Values{"access_token": {access}, "token_type": {"bearer"}, "scope": {"read:user,user:email"}}.Encode())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3599})
}

func (f *fakeProvider) bearer(w http.ResponseWriter, r *http.Request) (person, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}
	return p, ok
}

func (f *fakeProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	if p, ok := f.bearer(w, r); ok {
		writeTestJSON(w, map[string]any{"sub": p.Sub, "email": p.Email, "email_verified": p.Verified, "name": p.Name})
	}
}

func (f *fakeProvider) githubUser(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
		f.t.Errorf("GET /user without GitHub's media type and version: %v", r.Header)
	}
	if p, ok := f.bearer(w, r); ok {
		var id int64
		_, _ = fmt.Sscan(p.Sub, &id)
		writeTestJSON(w, map[string]any{"id": id, "login": p.Login, "name": p.Name, "email": nil})
	}
}

func (f *fakeProvider) githubEmails(w http.ResponseWriter, r *http.Request) {
	if p, ok := f.bearer(w, r); ok {
		writeTestJSON(w, []map[string]any{
			{"email": p.Sub + "+noreply@users.noreply.github.com", "primary": false, "verified": true, "visibility": nil},
			{"email": p.Email, "primary": true, "verified": p.Verified, "visibility": "private"},
		})
	}
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// oauthPlatform is a test platform whose identity signs in through the
// two fake providers, behind the REST router.
type oauthPlatform struct {
	pf             *platformtest.Platform
	id             *auth.Service
	srv            *httptest.Server
	google, github *fakeProvider
	rest           *platform
}

func newOAuthPlatform(t *testing.T, maxFailures int) *oauthPlatform {
	pf := platformtest.New(t, "sqlite")
	o := &oauthPlatform{pf: pf, google: newFakeProvider(t, "google"), github: newFakeProvider(t, "github")}
	o.srv = httptest.NewUnstartedServer(nil)
	o.srv.Start()
	t.Cleanup(o.srv.Close)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, _ := secrets.NewLocalKey(key)
	o.id = auth.NewService(pf.Store, secrets.NewEnvelope(lk), pf.Store, auth.Options{Mail: pf.Mail,
		BaseURL:    func() string { return o.srv.URL },
		OAuth:      func() auth.OAuthConfig { return auth.OAuthConfig{Google: o.google.app(), GitHub: o.github.app()} },
		LoginLimit: func() (int, time.Duration) { return maxFailures, 15 * time.Minute }})
	t.Cleanup(o.id.Close)
	pages, err := web.New(web.Deps{Tools: pf.Registry, VisitorTenant: "acme", Identity: o.id, Sessions: pf.Store, Sealer: pf.Sealer})
	if err != nil {
		t.Fatal(err)
	}
	o.srv.Config.Handler = api.NewRouter(api.Deps{Health: pf.Store, Tools: pf.Registry, Auth: either{pf.Tokens, o.id},
		Sessions: o.id, OAuth: o.id, OAuthPages: pages, VisitorTenant: "acme", Mount: pages.Mount})
	o.rest = &platform{srv: o.srv, st: pf.Store, params: pf.Params, audit: pf.Audit}
	return o
}

// browser is a client that keeps cookies and follows redirects, as a
// browser does; it records the last URL it was sent to.
type browser struct {
	*http.Client
	last *url.URL
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{}
	b.Client = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		b.last = req.URL
		return nil
	}}
	return b
}

func (b *browser) get(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	res, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// signIn runs the whole flow in a new browser: start, the provider's
// authorize, the callback.
func (o *oauthPlatform) signIn(t *testing.T, provider string) (int, map[string]any) {
	t.Helper()
	return newBrowser().get(t, o.srv.URL+"/auth/oauth/"+provider+"/start")
}

func (o *oauthPlatform) user(t *testing.T, email string) auth.User {
	t.Helper()
	u, err := o.pf.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (o *oauthPlatform) audited(t *testing.T, action string) []audit.Record {
	t.Helper()
	recs, err := o.pf.Store.QueryAudit(context.Background(), audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestOAuthSignInWithGoogleAndGitHub: the whole browser flow against
// local providers, for a new person, a returning one, an account linked
// by a verified address, and addresses the provider has not verified.
func TestOAuthSignInWithGoogleAndGitHub(t *testing.T) {
	o := newOAuthPlatform(t, 10)
	ctx := context.Background()
	ana := person{Sub: "108204268033311", Email: "Ana@Example.com", Verified: true, Name: "Ana Lopez"}

	t.Run("a new person signing in with Google gets a confirmed account and tokens", func(t *testing.T) {
		o.google.signsIn(ana)
		code, body := o.signIn(t, "google")
		access, _ := body["access_token"].(string)
		if code != 200 || access == "" || body["refresh_token"] == nil || body["token_type"] != "Bearer" {
			t.Fatalf("callback: %d %v", code, body)
		}
		u := o.user(t, "ana@example.com")
		if u.TenantID != "acme" || u.Role != actor.RoleUser || !u.EmailVerified || u.PasswordHash != "" || u.Name != "Ana Lopez" {
			t.Fatalf("account = %+v", u)
		}
		if id, err := o.pf.Store.Identity(ctx, "google", ana.Sub); err != nil || id.UserID != u.ID {
			t.Fatalf("identity = %+v, %v", id, err)
		}
		if r := o.rest.do(t, access, "GET", "/api/v1/tenants/acme", ""); r.status != 200 {
			t.Fatalf("a call with the access token: %d %v", r.status, r.body)
		}
		o.google.mu.Lock()
		defer o.google.mu.Unlock()
		if o.google.checked != 1 {
			t.Fatalf("%d PKCE verifiers checked", o.google.checked)
		}
	})
	t.Run("a returning person is found by subject even after changing address", func(t *testing.T) {
		moved := ana
		moved.Email = "ana.lopez@example.org"
		o.google.signsIn(moved)
		if code, body := o.signIn(t, "google"); code != 200 || body["access_token"] == nil {
			t.Fatalf("callback: %d %v", code, body)
		}
		if users, _ := o.pf.Identity.Users(ctx, "acme"); len(users) != 1 {
			t.Fatalf("users = %+v", users)
		}
		var logins []audit.Record
		for _, r := range o.audited(t, "auth.login") {
			var in map[string]any
			_ = json.Unmarshal(r.Input, &in)
			if in["provider"] == "google" {
				logins = append(logins, r)
			}
		}
		if len(logins) != 2 || !strings.Contains(string(logins[0].Input), `"account":"known"`) ||
			!strings.Contains(string(logins[1].Input), `"account":"created"`) {
			t.Fatalf("google sign-ins audited: %+v", logins)
		}
	})
	t.Run("GitHub links an existing account when it says the address is verified", func(t *testing.T) {
		bo, err := o.pf.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "beta", Email: "bo@example.com", Name: "Bo",
			Role: actor.RoleProUser, Password: "correct-horse-42", Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		o.github.signsIn(person{Sub: "583231", Login: "bo-dev", Email: "bo@example.com", Verified: true})
		code, body := o.signIn(t, "github")
		if code != 200 || body["access_token"] == nil {
			t.Fatalf("callback: %d %v", code, body)
		}
		a, err := o.id.Authenticate(ctx, body["access_token"].(string))
		if err != nil || a.ID != bo.ID || a.TenantID != "beta" || a.Role != actor.RoleProUser {
			t.Fatalf("the tokens are bo's? %+v, %v", a, err)
		}
		if id, err := o.pf.Store.Identity(ctx, "github", "583231"); err != nil || id.UserID != bo.ID {
			t.Fatalf("identity = %+v, %v", id, err)
		}
		if _, err := o.id.Login(ctx, "bo@example.com", "correct-horse-42", ""); err != nil {
			t.Fatalf("bo's password stopped working: %v", err)
		}
		if len(o.audited(t, "auth.identity_linked")) != 1 {
			t.Fatal("the link was not audited")
		}
	})
	t.Run("an address the provider has not verified is neither linked nor registered", func(t *testing.T) {
		if _, err := o.pf.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "acme", Email: "cy@example.com", Name: "Cy",
			Role: actor.RoleUser, Password: "correct-horse-42", Verified: true}); err != nil {
			t.Fatal(err)
		}
		o.github.signsIn(person{Sub: "777", Login: "mallory", Email: "cy@example.com", Verified: false})
		if code, body := o.signIn(t, "github"); code != 403 || !strings.Contains(body["detail"].(string), "not verified") {
			t.Fatalf("callback: %d %v", code, body)
		}
		if _, err := o.pf.Store.Identity(ctx, "github", "777"); fault.KindOf(err) != fault.KindNotFound {
			t.Fatalf("an unverified address was linked: %v", err)
		}
		o.github.signsIn(person{Sub: "778", Login: "newbie", Email: "dan@example.com", Verified: false})
		if code, _ := o.signIn(t, "github"); code != 403 {
			t.Fatalf("a new unverified address: %d", code)
		}
		if _, err := o.pf.Store.UserByEmail(ctx, "dan@example.com"); fault.KindOf(err) != fault.KindNotFound {
			t.Fatalf("an account was made for an unverified address: %v", err)
		}
	})
	t.Run("linking an unconfirmed account drops the password its registrant chose", func(t *testing.T) {
		// Someone registered dee's address with a password of their own,
		// and never confirmed it; dee then signs in with Google.
		o.pf.GoLive(t, "acme")
		if _, err := o.id.Register(ctx, auth.Signup{TenantID: "acme", Email: "dee@example.com", Password: "squatter-phrase-77", Name: "Dee"}); err != nil {
			t.Fatal(err)
		}
		o.google.signsIn(person{Sub: "2020", Email: "dee@example.com", Verified: true, Name: "Dee"})
		if code, body := o.signIn(t, "google"); code != 200 {
			t.Fatalf("callback: %d %v", code, body)
		}
		if u := o.user(t, "dee@example.com"); !u.EmailVerified || u.PasswordHash != "" {
			t.Fatalf("account after linking = %+v", u)
		}
		if _, err := o.id.Login(ctx, "dee@example.com", "squatter-phrase-77", ""); fault.KindOf(err) != fault.KindUnauthenticated {
			t.Fatalf("the registrant's password still signs in: %v", err)
		}
	})
}

// TestOAuthRefusals: a state that is not this browser's, missing, replayed
// or of another provider is a 400 and audited; a declined sign-in and a
// code whose PKCE verifier fails are 401; an unknown provider 404, one
// without an app 503.
func TestOAuthRefusals(t *testing.T) {
	o := newOAuthPlatform(t, 10)
	o.google.signsIn(person{Sub: "1", Email: "eve@example.com", Verified: true, Name: "Eve"})
	callback := o.srv.URL + "/auth/oauth/google/callback"

	// begin starts a flow in b without following the provider's redirect,
	// and returns the authorize URL it was sent to.
	begin := func(t *testing.T, b *browser, provider string) *url.URL {
		t.Helper()
		b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := b.Get(o.srv.URL + "/auth/oauth/" + provider + "/start")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := res.Location()
		if res.StatusCode != 302 || loc == nil {
			t.Fatalf("start: %d", res.StatusCode)
		}
		var cookie *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "gpb_oauth_state" {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/auth/oauth/" ||
			cookie.MaxAge <= 0 || cookie.MaxAge > 600 || cookie.Value != loc.Query().Get("state") {
			t.Fatalf("state cookie = %+v; authorize URL %s", cookie, loc)
		}
		b.CheckRedirect = nil
		return loc
	}
	stateFailures := func() int {
		n := 0
		for _, r := range o.audited(t, "auth.oauth_failed") {
			if strings.Contains(string(r.Input), `"reason":"state`) && r.Verdict == "deny" {
				n++
			}
		}
		return n
	}

	t.Run("a state other than the browser's is a 400, audited", func(t *testing.T) {
		b := newBrowser()
		begin(t, b, "google")
		if code, body := b.get(t, callback+"?code=x&state="+random()); code != 400 || !strings.Contains(body["detail"].(string), "state") {
			t.Fatalf("callback: %d %v", code, body)
		}
		if stateFailures() != 1 {
			t.Fatalf("%d state failures audited, want 1", stateFailures())
		}
	})
	t.Run("a callback without the state cookie is a 400", func(t *testing.T) {
		loc := begin(t, newBrowser(), "google")
		if code, _ := newBrowser().get(t, callback+"?code=x&state="+loc.Query().Get("state")); code != 400 {
			t.Fatalf("callback: %d", code)
		}
		if code, _ := newBrowser().get(t, callback+"?code=x"); code != 400 {
			t.Fatalf("callback without any state: %d", code)
		}
	})
	t.Run("a finished sign-in cannot be replayed", func(t *testing.T) {
		b := newBrowser()
		if code, _ := b.get(t, o.srv.URL+"/auth/oauth/google/start"); code != 200 {
			t.Fatalf("sign-in: %d", code)
		}
		replay := b.last.String()
		state := b.last.Query().Get("state")
		u, _ := url.Parse(o.srv.URL + "/auth/oauth/")
		b.Jar.SetCookies(u, []*http.Cookie{{Name: "gpb_oauth_state", Value: state, Path: "/auth/oauth/"}})
		if code, body := b.get(t, replay); code != 400 || !strings.Contains(body["detail"].(string), "finished already") {
			t.Fatalf("replay: %d %v", code, body)
		}
	})
	t.Run("a state begun with another provider is a 400", func(t *testing.T) {
		b := newBrowser()
		loc := begin(t, b, "github")
		if code, _ := b.get(t, callback+"?code=x&state="+loc.Query().Get("state")); code != 400 {
			t.Fatalf("callback: %d", code)
		}
	})
	t.Run("a person who declines is a 401", func(t *testing.T) {
		o.google.mu.Lock()
		o.google.deny = true
		o.google.mu.Unlock()
		if code, body := o.signIn(t, "google"); code != 401 || !strings.Contains(body["detail"].(string), "access_denied") {
			t.Fatalf("callback: %d %v", code, body)
		}
	})
	t.Run("a code whose PKCE verifier does not match its challenge is a 401", func(t *testing.T) {
		o.google.signsIn(person{Sub: "2", Email: "fay@example.com", Verified: true})
		o.google.mu.Lock()
		o.google.tamper = true
		o.google.mu.Unlock()
		if code, body := o.signIn(t, "google"); code != 401 || !strings.Contains(body["detail"].(string), "refused") {
			t.Fatalf("callback: %d %v", code, body)
		}
		if _, err := o.pf.Store.UserByEmail(context.Background(), "fay@example.com"); fault.KindOf(err) != fault.KindNotFound {
			t.Fatalf("an account was made: %v", err)
		}
	})
	t.Run("an unknown provider is a 404 and one without an app a 503", func(t *testing.T) {
		if code, _ := newBrowser().get(t, o.srv.URL+"/auth/oauth/myspace/start"); code != 404 {
			t.Fatalf("unknown provider: %d", code)
		}
		o.github.setSecret("")
		defer o.github.setSecret("github-secret")
		if code, _ := newBrowser().get(t, o.srv.URL+"/auth/oauth/github/start"); code != 503 {
			t.Fatalf("provider without a secret: %d", code)
		}
	})
}

// TestOAuthFailuresLockTheAddressOut: refused callbacks count against the
// client address with failed password sign-ins, and past the limit both
// are refused.
func TestOAuthFailuresLockTheAddressOut(t *testing.T) {
	o := newOAuthPlatform(t, 1) // an address may fail 5 times
	b := newBrowser()
	for i := range 5 {
		if code, _ := b.get(t, o.srv.URL+"/auth/oauth/github/callback?code=x&state="+random()); code != 400 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code, body := b.get(t, o.srv.URL+"/auth/oauth/github/callback?code=x&state="+random()); code != 429 {
		t.Fatalf("after five failures: %d %v", code, body)
	}
	if code, _ := b.get(t, o.srv.URL+"/auth/oauth/github/start"); code != 429 {
		t.Fatalf("starting after five failures: %d", code)
	}
	_, err := o.id.Login(auth.WithClientIP(context.Background(), "127.0.0.1"), "nobody@example.com", "whatever-it-is", "")
	if fault.KindOf(err) != fault.KindRateLimited {
		t.Fatalf("a password sign-in from the address: %v", err)
	}
}

// TestOAuthSignInFromTheWebPages: the sign-in and registration pages
// offer the providers set up; a sign-in begun there ends signed in to the
// pages (a session cookie, the dashboard), and a refused one on the
// sign-in page saying why; begun elsewhere, the callback still answers
// tokens.
func TestOAuthSignInFromTheWebPages(t *testing.T) {
	o := newOAuthPlatform(t, 10)
	b := newBrowser()
	for _, page := range []string{"/signin", "/register"} {
		res, err := b.Get(o.srv.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, p := range []string{"google", "github"} {
			if !strings.Contains(string(body), `href="/auth/oauth/`+p+`/start?to=web"`) {
				t.Errorf("%s offers no sign-in with %s", page, p)
			}
		}
	}

	o.google.signsIn(person{Sub: "4242", Email: "eli@example.com", Verified: true, Name: "Eli"})
	res, err := b.Get(o.srv.URL + "/auth/oauth/google/start?to=web")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || b.last.Path != "/dashboard" || !strings.Contains(string(body), "eli@example.com") {
		t.Fatalf("after the callback: %d at %s", res.StatusCode, b.last)
	}
	u, _ := url.Parse(o.srv.URL)
	var session bool
	for _, c := range b.Jar.Cookies(u) {
		session = session || c.Name == "gb_session"
	}
	if !session {
		t.Fatal("no session cookie after signing in from the pages")
	}

	b = newBrowser()
	o.github.signsIn(person{Sub: "9", Login: "nova", Email: "nova@example.com", Verified: false})
	res, err = b.Get(o.srv.URL + "/auth/oauth/github/start?to=web")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `class="alert"`) || !strings.Contains(string(body), "not verified") {
		t.Fatalf("a refused sign-in from the pages: %d\n%s", res.StatusCode, body)
	}

	o.google.signsIn(person{Sub: "4242", Email: "eli@example.com", Verified: true, Name: "Eli"})
	if code, tokens := o.signIn(t, "google"); code != 200 || tokens["access_token"] == nil {
		t.Fatalf("a sign-in begun elsewhere: %d %v", code, tokens)
	}
}
