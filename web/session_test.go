package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browserClient is a client that keeps cookies and does not follow
// redirects, so a test sees each answer.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page GETs path and answers its status, body and the CSRF token its forms
// carry.
func page(t *testing.T, c *http.Client, base, path string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	token := ""
	if m := csrfInput.FindStringSubmatch(string(b)); m != nil {
		token = m[1]
	}
	return resp.StatusCode, string(b), token
}

func post(t *testing.T, c *http.Client, base, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cookie(c *http.Client, base, name string) *http.Cookie {
	u, _ := url.Parse(base)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// TestRegisteringInSandboxSignsInAndSigningOutEndsTheSession: a weak
// password is refused beside its field with the tools' message and
// nothing saved; a good registration (confirmed at once in SANDBOX) sets
// an HttpOnly session cookie and the pages show who is signed in; a form
// without the page's token is refused 403; signing out ends the session.
func TestRegisteringInSandboxSignsInAndSigningOutEndsTheSession(t *testing.T) {
	srv, _ := serverOf(t)
	c := browserClient(t)
	status, _, token := page(t, c, srv.URL, "/register?plan=pro")
	if status != http.StatusOK || token == "" {
		t.Fatalf("the register page: %d, token %q", status, token)
	}
	resp, body := post(t, c, srv.URL, "/register", url.Values{"csrf": {token}, "name": {"Ana"}, "email": {"ana@example.com"},
		"password": {"password"}, "plan": {"pro"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="password-error"`) || !strings.Contains(body, `value="ana@example.com"`) {
		t.Fatalf("a weak password: %d\n%s", resp.StatusCode, body)
	}
	if cookie(c, srv.URL, "gb_session") != nil {
		t.Fatal("a refused registration signed in")
	}

	resp, _ = post(t, c, srv.URL, "/register", url.Values{"name": {"Ana"}, "email": {"ana@example.com"}, "password": {"quiet-harbor-lantern-42"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a form without its token: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, srv.URL, "/register", url.Values{"csrf": {token}, "name": {"Ana"}, "email": {"ana@example.com"},
		"password": {"quiet-harbor-lantern-42"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("registering: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == "gb_session" {
			session = k
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Value == "" {
		t.Fatalf("the session cookie: %+v", session)
	}
	_, body, token = page(t, c, srv.URL, "/")
	if !strings.Contains(body, `class="who"`) || !strings.Contains(body, "ana@example.com") || !strings.Contains(body, `action="/signout"`) {
		t.Fatal("the front page does not show who is signed in")
	}
	resp, _ = post(t, c, srv.URL, "/signout", url.Values{"csrf": {"not-the-token"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("signing out with a wrong token: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, srv.URL, "/signout", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther || cookie(c, srv.URL, "gb_session") != nil {
		t.Fatalf("signing out: %d", resp.StatusCode)
	}
	if _, body, _ := page(t, c, srv.URL, "/"); strings.Contains(body, `class="who"`) {
		t.Fatal("still signed in after signing out")
	}
	// The old cookie signs nobody in.
	old := browserClient(t)
	u, _ := url.Parse(srv.URL)
	old.Jar.SetCookies(u, []*http.Cookie{{Name: "gb_session", Value: session.Value}})
	if _, body, _ := page(t, old, srv.URL, "/"); strings.Contains(body, `class="who"`) {
		t.Fatal("the ended session's cookie still signs in")
	}
}

// TestSignInRefusesAWrongPasswordAndRenewsTheSessionAsItAges: a wrong
// password is refused in words that do not say which was wrong; a good
// one signs in and goes where the person was going; once the access
// token nears its end, the next page renews it from the refresh token and
// the person stays signed in.
func TestSignInRefusesAWrongPasswordAndRenewsTheSessionAsItAges(t *testing.T) {
	srv, p := serverOf(t)
	c := browserClient(t)
	_, _, token := page(t, c, srv.URL, "/register")
	if resp, _ := post(t, c, srv.URL, "/register", url.Values{"csrf": {token}, "name": {"Bo"}, "email": {"bo@example.com"},
		"password": {"quiet-harbor-lantern-42"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("registering: %d", resp.StatusCode)
	}
	_, _, token = page(t, c, srv.URL, "/")
	post(t, c, srv.URL, "/signout", url.Values{"csrf": {token}})

	_, _, token = page(t, c, srv.URL, "/signin?next=/plans")
	resp, body := post(t, c, srv.URL, "/signin", url.Values{"csrf": {token}, "email": {"bo@example.com"}, "password": {"wrong-password-123"}, "next": {"/plans"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The email or the password is wrong.") {
		t.Fatalf("a wrong password: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, srv.URL, "/signin", url.Values{"csrf": {token}, "email": {"bo@example.com"}, "password": {"quiet-harbor-lantern-42"},
		"next": {"//elsewhere.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard" {
		t.Fatalf("signing in with another site as next: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	p.Clock.Advance(20 * time.Minute)
	if _, body, _ := page(t, c, srv.URL, "/plans"); !strings.Contains(body, "bo@example.com") {
		t.Fatal("signed out once the access token aged")
	}
}

var setupInput = regexp.MustCompile(`name="setup_intent_id" value="([^"]+)"`)

// TestANewAccountPaysForItsPlanWithATestCard: registering with PRO leads
// to the payment page, which names the SANDBOX test cards; a declined
// card is shown beside the field and another can be tried; 4242 saves the
// card and subscribes. A visitor is sent to sign in first.
func TestANewAccountPaysForItsPlanWithATestCard(t *testing.T) {
	srv, _ := serverOf(t)
	anon := browserClient(t)
	if resp, _ := post(t, anon, srv.URL, "/billing/pay", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a visitor's payment without a token: %d", resp.StatusCode)
	}
	resp, err := anon.Get(srv.URL + "/billing/pay?plan=pro&interval=annual")
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Fatalf("a visitor on the payment page: %v %v", resp, err)
	}

	c := browserClient(t)
	_, _, token := page(t, c, srv.URL, "/register?plan=pro&interval=annual")
	resp, _ = post(t, c, srv.URL, "/register", url.Values{"csrf": {token}, "name": {"Cy"}, "email": {"cy@example.com"},
		"password": {"quiet-harbor-lantern-42"}, "plan": {"pro"}, "interval": {"annual"}})
	where := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || where != "/billing/pay?plan=pro&interval=annual" {
		t.Fatalf("after registering with PRO: %d %s", resp.StatusCode, where)
	}
	status, body, token := page(t, c, srv.URL, where)
	m := setupInput.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil || !strings.Contains(body, "4242 4242 4242 4242") || !strings.Contains(body, "4000 0000 0000 0002") ||
		!strings.Contains(body, "$290.00") {
		t.Fatalf("the payment page: %d\n%s", status, body)
	}
	resp, body = post(t, c, srv.URL, "/billing/pay", url.Values{"csrf": {token}, "setup_intent_id": {m[1]}, "plan": {"pro"}, "interval": {"annual"},
		"card_number": {"4000 0000 0000 0002"}})
	m = setupInput.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="card-error"`) || m == nil {
		t.Fatalf("a declined card: %d\n%s", resp.StatusCode, body)
	}
	resp, body = post(t, c, srv.URL, "/billing/pay", url.Values{"csrf": {token}, "setup_intent_id": {m[1]}, "plan": {"pro"}, "interval": {"annual"},
		"card_number": {"4242 4242 4242 4242"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are on pro") {
		t.Fatalf("paying with 4242: %d\n%s", resp.StatusCode, body)
	}
}
