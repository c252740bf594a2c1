package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/pquerna/otp/totp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/web"
)

// TestAnAdminWithoutASecondFactorEnrolsBeforeTheConsole: while
// auth.mfa_required_for_admins holds, an admin who signed in with a
// password alone is sent from any console page to enrol: a QR code of the
// secret, a wrong code refused beside the field, a right one turning MFA
// on and signing the admin out to sign in again with a code, after which
// the console opens.
func TestAnAdminWithoutASecondFactorEnrolsBeforeTheConsole(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	pages, err := web.New(web.Deps{Tools: p.Registry, VisitorTenant: "acme", Identity: p.Identity, Sessions: p.Store, Sealer: p.Sealer,
		Now: p.Clock.Now, Log: slog.New(slog.DiscardHandler), AdminMFA: func() bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	pages.Mount(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	const email, password = "root@example.com", "steady-orbit-lantern-58"
	if _, err := p.Identity.CreateUser(context.Background(), actor.System("test"), auth.NewUser{TenantID: "acme", Email: email, Name: "Root",
		Role: actor.RolePodAdmin, Password: password, Verified: true}); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	_, _, token := page(t, c, srv.URL, "/signin")
	if resp, _ := post(t, c, srv.URL, "/signin", url.Values{"csrf": {token}, "email": {email}, "password": {password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in: %d", resp.StatusCode)
	}
	resp, err := c.Get(srv.URL + "/admin/agent")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/mfa" {
		t.Fatalf("the console without a second factor: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	status, body, token := page(t, c, srv.URL, "/admin/mfa")
	secret := regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
	if status != http.StatusOK || secret == nil || !strings.Contains(body, `<img src="data:image/png;base64,`) {
		t.Fatalf("the enrolment page: %d\n%s", status, body)
	}
	resp, body = post(t, c, srv.URL, "/admin/mfa", url.Values{"csrf": {token}, "code": {"000000"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="code-error"`) {
		t.Fatalf("a wrong code: %d", resp.StatusCode)
	}
	// The refused try began a new enrolment: its secret is the one now.
	secret = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
	token = csrfInput.FindStringSubmatch(body)[1]
	code, _ := totp.GenerateCode(secret[1], time.Now())
	resp, _ = post(t, c, srv.URL, "/admin/mfa", url.Values{"csrf": {token}, "code": {code}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=/admin" || cookie(c, srv.URL, "gb_session") != nil {
		t.Fatalf("a right code: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, _, token = page(t, c, srv.URL, "/signin")
	// A code is taken once: the next period's, within the allowed skew.
	code, _ = totp.GenerateCode(secret[1], time.Now().Add(30*time.Second))
	if resp, _ := post(t, c, srv.URL, "/signin", url.Values{"csrf": {token}, "email": {email}, "password": {password}, "code": {code},
		"next": {"/admin"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in with a code: %d", resp.StatusCode)
	}
	if status, body, _ := page(t, c, srv.URL, "/admin/mfa"); status != http.StatusOK || !strings.Contains(body, "You signed in with a code") {
		t.Fatalf("the enrolment page after: %d", status)
	}
	if resp, err := c.Get(srv.URL + "/admin/config"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the console after enrolling: %v %v", resp.StatusCode, err)
	}
}
