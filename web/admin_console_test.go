package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

const adminPassword = "quiet-harbor-lantern-42"

// signedInAdmin answers a client holding the session of a new POD Admin
// of acme, signed in through the sign-in page, and the admin's user.
func signedInAdmin(t *testing.T, srv *httptest.Server, p *platformtest.Platform, email string) (*http.Client, auth.User) {
	t.Helper()
	u, err := p.Identity.CreateUser(context.Background(), actor.System("test"), auth.NewUser{TenantID: "acme", Email: email, Name: "Ada",
		Role: actor.RolePodAdmin, Password: adminPassword, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	_, _, token := page(t, c, srv.URL, "/signin")
	if resp, body := post(t, c, srv.URL, "/signin", url.Values{"csrf": {token}, "email": {email}, "password": {adminPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in %s: %d\n%s", email, resp.StatusCode, body)
	}
	return c, u
}

// getRaw answers a response's status, headers and body.
func getRaw(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var recordRow = regexp.MustCompile(`data-record="(\d+)"`)

// TestTheAuditLogIsFilteredPagedOpenedAndExported: the console's audit
// log is not found for a plain user; it filters by face, verdict, tool
// and actor, pages older records behind an Older link that keeps the
// filters, opens a record with its input as stored (the password of a
// created user redacted), refuses filters it cannot read beside their
// field with a 400, and exports the records the filters select as a CSV
// attachment with a header row.
func TestTheAuditLogIsFilteredPagedOpenedAndExported(t *testing.T) {
	srv, p := serverOf(t)
	ctx := context.Background()
	admin, _ := signedInAdmin(t, srv, p, "ada@acme.test")
	at := time.Now().UTC().Add(-time.Hour)
	for i := range 60 {
		r := audit.Record{At: at.Add(time.Duration(i) * time.Second), Actor: platformtest.AcmeUser, Face: audit.FaceMCP, TenantID: "acme",
			Action: "list_offers", Verdict: "allow", Input: json.RawMessage(fmt.Sprintf(`{"page":%d}`, i))}
		if i%20 == 0 {
			r.Face, r.Action, r.Verdict, r.Error = audit.FaceSlack, "approve_decision", "deny", "=HYPERLINK(\"x\") role: not yours"
		}
		if _, err := p.Store.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "fresh-meadow-compass-77"
	if res := p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceREST, Tool: tools.ToolCreateUser,
		Input: []byte(`{"email":"cy@acme.test","name":"Cy","role":"user","password":"` + secret + `"}`)}); res.Err != nil {
		t.Fatal(res.Err)
	}
	p.Audit.Flush()

	if status, _, _ := page(t, signedIn(t, srv, "bo@example.com"), srv.URL, "/admin/audit"); status != http.StatusNotFound {
		t.Errorf("a plain user sees the audit log: %d", status)
	}

	status, body, _ := page(t, admin, srv.URL, "/admin/audit?face=slack&verdict=deny")
	if rows := recordRow.FindAllString(body, -1); status != http.StatusOK || len(rows) != 3 || strings.Contains(body, ">list_offers<") {
		t.Fatalf("slack denials: %d, %d rows\n%s", status, len(rows), body)
	}
	if !strings.Contains(body, `href="/admin/audit.csv?face=slack&amp;verdict=deny"`) {
		t.Errorf("the export does not keep the filters")
	}

	status, body, _ = page(t, admin, srv.URL, "/admin/audit?face=mcp&tool=list_offers")
	rows := recordRow.FindAllStringSubmatch(body, -1)
	older := regexp.MustCompile(`href="(/admin/audit\?[^"]*before=\d+[^"]*)" rel="next"`).FindStringSubmatch(body)
	if status != http.StatusOK || len(rows) != 50 || older == nil || !strings.Contains(older[1], "face=mcp") {
		t.Fatalf("first page: %d, %d rows, older %v", status, len(rows), older)
	}
	status, body, _ = page(t, admin, srv.URL, strings.ReplaceAll(older[1], "&amp;", "&"))
	if more := recordRow.FindAllStringSubmatch(body, -1); status != http.StatusOK || len(more) != 7 || strings.Contains(body, `rel="next"`) {
		t.Fatalf("older page: %d, %d rows", status, len(more))
	} else if first, _ := strconv.Atoi(more[0][1]); first >= mustAtoi(rows[len(rows)-1][1]) {
		t.Errorf("the older page starts at %d, after the first page's last %s", first, rows[len(rows)-1][1])
	}

	status, body, _ = page(t, admin, srv.URL, "/admin/audit?tool=create_user&actor=acme-admin")
	created := recordRow.FindStringSubmatch(body)
	if status != http.StatusOK || created == nil {
		t.Fatalf("create_user by acme-admin: %d\n%s", status, body)
	}
	status, body, _ = page(t, admin, srv.URL, "/admin/audit/"+created[1])
	if status != http.StatusOK || !strings.Contains(body, "cy@acme.test") || strings.Contains(body, secret) || !strings.Contains(body, "allow") {
		t.Errorf("the record's page: %d\n%s", status, body)
	}
	if status, _, _ := page(t, admin, srv.URL, "/admin/audit/999999"); status != http.StatusNotFound {
		t.Errorf("a record that is not there: %d", status)
	}

	for _, c := range []struct{ query, field string }{
		{"face=fax", `id="face-error"`},
		{"verdict=maybe", `id="verdict-error"`},
		{"since=yesterday", `id="since-error"`},
		{"since=2025-03-02T10:00&until=2025-03-01T10:00", `id="until-error"`},
	} {
		if status, body, _ := page(t, admin, srv.URL, "/admin/audit?"+c.query); status != http.StatusBadRequest || !strings.Contains(body, c.field) {
			t.Errorf("%s: %d, want 400 with %s", c.query, status, c.field)
		}
	}

	resp, body := getRaw(t, admin, srv.URL+"/admin/audit.csv?face=slack")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "id" || recs[0][8] != "tool" {
		t.Fatalf("export rows %v, %v", recs, err)
	}
	for _, r := range recs[1:] {
		if r[5] != "slack" || r[8] != "approve_decision" || r[9] != "deny" || !strings.HasPrefix(r[10], "'=") {
			t.Errorf("exported %v", r)
		}
	}
	if resp, _ := getRaw(t, admin, srv.URL+"/admin/audit.csv?face=fax"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an export with a face it does not know: %d", resp.StatusCode)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestUsersAndAccessChangeRolesTokensAndSlackLinks: the users page lists
// acme's people with their roles and links to the admin's own MFA; a
// role changes, and the admin's own role change is refused with the
// reason on the page; a token's secret is shown once, on the page that
// creates it and kept from the cache, never on the users page after; a
// bad scope is refused beside its field; a token is revoked; a Slack
// member id is linked, and a malformed one refused beside its field;
// every form refuses a request without the page's token.
func TestUsersAndAccessChangeRolesTokensAndSlackLinks(t *testing.T) {
	srv, p := serverOf(t)
	ctx := context.Background()
	admin, self := signedInAdmin(t, srv, p, "ada@acme.test")
	bo, err := p.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "acme", Email: "bo@acme.test", Name: "Bo",
		Role: actor.RoleUser, Password: adminPassword, Verified: true})
	if err != nil {
		t.Fatal(err)
	}

	status, body, token := page(t, admin, srv.URL, "/admin/users")
	if status != http.StatusOK || !strings.Contains(body, "bo@acme.test") || !strings.Contains(body, `href="/admin/mfa"`) {
		t.Fatalf("users page: %d\n%s", status, body)
	}
	resp, _ := post(t, admin, srv.URL, "/admin/users/"+bo.ID+"/role", url.Values{"csrf": {token}, "role": {"pro_user"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("changing Bo's role: %d", resp.StatusCode)
	}
	if u, _ := p.Store.UserByEmail(ctx, "bo@acme.test"); u.Role != actor.RoleProUser {
		t.Errorf("Bo is %s", u.Role)
	}
	resp, body = post(t, admin, srv.URL, "/admin/users/"+self.ID+"/role", url.Values{"csrf": {token}, "role": {"user"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="role-error"`) || !strings.Contains(body, "The role was not changed:") {
		t.Errorf("changing one's own role: %d\n%s", resp.StatusCode, body)
	}
	if u, _ := p.Store.UserByEmail(ctx, "ada@acme.test"); u.Role != actor.RolePodAdmin {
		t.Errorf("the admin's own role became %s", u.Role)
	}

	resp, body = post(t, admin, srv.URL, "/admin/tokens", url.Values{"csrf": {token}, "name": {"nightly report"}, "role": {"user"}, "scopes": {"read, offers"}})
	secret := regexp.MustCompile(`id="token-secret"[^>]*>([^<]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || secret == nil || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("creating a token: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	if _, err := p.Identity.Authenticate(ctx, secret[1]); err != nil {
		t.Errorf("the secret shown does not authenticate: %v", err)
	}
	_, body, _ = page(t, admin, srv.URL, "/admin/users")
	tokenRow := regexp.MustCompile(`data-token="([^"]+)"`).FindStringSubmatch(body)
	if strings.Contains(body, secret[1]) || tokenRow == nil || !strings.Contains(body, "nightly report") || !strings.Contains(body, "<code>offers</code>") {
		t.Fatalf("the users page after: row %v, secret shown again %v", tokenRow, strings.Contains(body, secret[1]))
	}
	resp, body = post(t, admin, srv.URL, "/admin/tokens", url.Values{"csrf": {token}, "name": {"bad"}, "role": {"user"}, "scopes": {"read, nonsense"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="scopes-error"`) || !strings.Contains(body, "nonsense") {
		t.Errorf("an unknown scope: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = post(t, admin, srv.URL, "/admin/tokens/"+tokenRow[1]+"/revoke", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoking: %d", resp.StatusCode)
	}
	if _, body, _ = page(t, admin, srv.URL, "/admin/users?done=revoked"); !strings.Contains(body, "status-revoked") {
		t.Errorf("the revoked token is not shown revoked")
	}
	if _, err := p.Identity.Authenticate(ctx, secret[1]); err == nil {
		t.Errorf("a revoked token still authenticates")
	}

	resp, _ = post(t, admin, srv.URL, "/admin/users/slack", url.Values{"csrf": {token}, "user_id": {bo.ID}, "slack_user_id": {"U0BO42"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("linking Bo to Slack: %d", resp.StatusCode)
	}
	if u, err := p.Store.UserBySlackID(ctx, "acme", "U0BO42"); err != nil || u.ID != bo.ID {
		t.Errorf("Bo's Slack link: %+v, %v", u, err)
	}
	resp, body = post(t, admin, srv.URL, "/admin/users/slack", url.Values{"csrf": {token}, "user_id": {bo.ID}, "slack_user_id": {"bo"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="slack-id-error"`) {
		t.Errorf("a malformed Slack id: %d\n%s", resp.StatusCode, body)
	}

	for _, path := range []string{"/admin/users/" + bo.ID + "/role", "/admin/tokens", "/admin/tokens/x/revoke", "/admin/users/slack"} {
		if resp, _ := post(t, admin, srv.URL, path, url.Values{"role": {"user"}, "name": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without the page's token: %d", path, resp.StatusCode)
		}
	}
}

// TestTheHealthPageShowsTheOutboxDepthAndTheProviders: the health page
// shows acme's outbox depth, its webhook events waiting and every
// provider's breaker; a window it cannot read is refused beside its
// field with a 400, not a failure.
func TestTheHealthPageShowsTheOutboxDepthAndTheProviders(t *testing.T) {
	srv, p := serverOf(t)
	ctx := context.Background()
	admin, _ := signedInAdmin(t, srv, p, "ada@acme.test")
	for i := range 3 {
		e, err := events.New("tenant.noted", "acme", "acme", map[string]int{"n": i}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Store.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	backlog, err := p.Store.OutboxBacklog(ctx, "acme")
	if err != nil || backlog.Pending < 3 {
		t.Fatalf("backlog %+v, %v", backlog, err)
	}
	status, body, _ := page(t, admin, srv.URL, "/admin/health")
	depth := regexp.MustCompile(`id="outbox-depth"><p class="card-label">Outbox depth</p><p class="card-figure">(\d+)<`).FindStringSubmatch(body)
	if status != http.StatusOK || depth == nil || depth[1] != strconv.FormatInt(backlog.Pending, 10) {
		t.Fatalf("health page: %d, depth %v, want %d\n%s", status, depth, backlog.Pending, body)
	}
	if !strings.Contains(body, `data-provider=`) || !strings.Contains(body, "Payment webhooks") || !strings.Contains(body, "Slack") {
		t.Errorf("the health page lacks providers or deliveries")
	}
	for _, q := range []string{"hours=soon", "hours=9999"} {
		if status, body, _ := page(t, admin, srv.URL, "/admin/health?"+q); status != http.StatusBadRequest || !strings.Contains(body, `id="hours-error"`) {
			t.Errorf("%s: %d", q, status)
		}
	}
	if status, _, _ := page(t, signedIn(t, srv, "bo@example.com"), srv.URL, "/admin/health"); status != http.StatusNotFound {
		t.Errorf("a plain user sees the health page: %d", status)
	}
}
