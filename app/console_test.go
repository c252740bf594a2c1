package app

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/decision"
)

// consoleClient is a browser-like client of the app's pages: it keeps
// cookies and does not follow redirects.
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get answers a page's status, body and the CSRF token its forms carry.
func (c *consoleClient) get(path string) (int, string, string) {
	c.t.Helper()
	resp, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	token := ""
	if m := csrfField.FindSubmatch(b); m != nil {
		token = string(m[1])
	}
	return resp.StatusCode, string(b), token
}

func (c *consoleClient) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.c.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs the client in through the sign-in page.
func (c *consoleClient) signIn(email, password string) {
	c.t.Helper()
	_, _, token := c.get("/signin")
	if resp, body := c.post("/signin", url.Values{"csrf": {token}, "email": {email}, "password": {password}}); resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("signing in %s: %d\n%s", email, resp.StatusCode, body)
	}
}

// TestTheConsoleIsThePODAdminsAndDrivesTheAgent: every console page and
// form is not found for a visitor and for a plain user; the seeded admin
// sets the agent's budget, is refused an empty goal beside the field,
// starts the agent on a goal, follows its first steps on the stream, finds its
// deploy waiting among the decisions, opens it (with its events on the
// way to Kafka), approves it on its page, and cannot approve it twice.
func TestTheConsoleIsThePODAdminsAndDrivesTheAgent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, err := New(ctx, Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	seed, err := a.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	openFreePlan(ctx, t, a)
	setGlobal(ctx, t, a, "agent.approval", "above_cost", "agent.approval_above_usd", "1")
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	visitor := newConsoleClient(t, srv.URL)
	plain := newConsoleClient(t, srv.URL)
	_, _, token := plain.get("/register")
	if resp, _ := plain.post("/register", url.Values{"csrf": {token}, "name": {"Pat"}, "email": {"pat@example.com"},
		"password": {"quiet-harbor-lantern-42"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("registering: %d", resp.StatusCode)
	}
	_, _, plainToken := plain.get("/dashboard")
	for _, path := range []string{"/admin", "/admin/agent", "/admin/decisions", "/admin/decisions/dec_x", "/admin/agent/stream", "/admin/mfa"} {
		for who, c := range map[string]*consoleClient{"a visitor": visitor, "a plain user": plain} {
			if status, body, _ := c.get(path); status != http.StatusNotFound || !strings.Contains(body, "There is no such page.") {
				t.Errorf("%s on %s: %d", who, path, status)
			}
		}
	}
	if resp, _ := plain.post("/admin/agent/start", url.Values{"csrf": {plainToken}, "goals": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a plain user starting the agent: %d", resp.StatusCode)
	}
	if status, body, _ := plain.get("/dashboard"); status != http.StatusOK || strings.Contains(body, `href="/admin"`) {
		t.Error("a plain user's pages link to the console")
	}

	admin := newConsoleClient(t, srv.URL)
	admin.signIn(seed.AdminEmail, seed.AdminPassword)
	status, body, token := admin.get("/admin/agent")
	if status != http.StatusOK || !strings.Contains(body, `id="budget-data"`) || !strings.Contains(body, "stopped") || !strings.Contains(body, `href="/admin"`) {
		t.Fatalf("the agent dashboard: %d\n%s", status, body)
	}

	budget := url.Values{"csrf": {token}, "per_action_usd": {"50"}, "per_day_usd": {"100"}, "per_month_usd": {"1000"}}
	resp, body := admin.post("/admin/agent/budget", budget)
	if resp.StatusCode == http.StatusConflict {
		m := regexp.MustCompile(`<label for="confirm">Type ([^ ]+) to confirm</label>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the budget asks for a confirmation without saying which:\n%s", body)
		}
		budget.Set("confirm", m[1])
		resp, body = admin.post("/admin/agent/budget", budget)
	}
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setting the budget: %d\n%s", resp.StatusCode, body)
	}
	if _, body, _ := admin.get("/admin/agent"); !strings.Contains(body, `"limit":[100000000,1000000000]`) {
		t.Error("the budget chart does not draw the limits set")
	}

	resp, body = admin.post("/admin/agent/start", url.Values{"csrf": {token}, "goals": {"  "}, "interval": {"15m"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="goals-error"`) {
		t.Fatalf("an empty goal: %d", resp.StatusCode)
	}

	// Follow the stream before starting, so the first steps are seen.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/admin/agent/stream", nil)
	streamResp, err := admin.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer streamResp.Body.Close()
	if streamResp.StatusCode != http.StatusOK || streamResp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("the stream: %d %s", streamResp.StatusCode, streamResp.Header.Get("Content-Type"))
	}
	if resp, body := admin.post("/admin/agent/start", url.Values{"csrf": {token}, "goals": {"keep 1 × A100-SXM-80GB running below $10/h"},
		"interval": {"1h"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("starting the agent: %d\n%s", resp.StatusCode, body)
	}
	lines := bufio.NewScanner(streamResp.Body)
	var seen []string
	for len(seen) < 2 && lines.Scan() {
		if ev, ok := strings.CutPrefix(lines.Text(), "event: "); ok {
			seen = append(seen, ev)
		}
	}
	if len(seen) < 2 || seen[0] != "start" || seen[1] != "step" {
		t.Fatalf("the stream's first events: %v (%v)", seen, lines.Err())
	}

	var deployID string
	for deployID == "" {
		_, body, _ := admin.get("/admin/decisions?status=awaiting_approval")
		if m := regexp.MustCompile(`<tr data-decision="(dec_[^"]+)">`).FindStringSubmatch(body); m != nil {
			deployID = m[1]
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no decision ever waited for approval")
		case <-time.After(100 * time.Millisecond):
		}
	}
	status, body, token = admin.get("/admin/decisions/" + deployID)
	if status != http.StatusOK || !strings.Contains(body, `action="/admin/decisions/`+deployID+`/approve"`) || !strings.Contains(body, "deploy_pod") ||
		!strings.Contains(body, `id="delivery"`) || !strings.Contains(body, "agent.decision_awaiting_approval") {
		t.Fatalf("the waiting decision's page: %d\n%s", status, body)
	}
	if resp, _ := admin.post("/admin/decisions/"+deployID+"/approve", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approving: %d", resp.StatusCode)
	}
	d, err := a.Decisions.Decision(ctx, "default", deployID)
	if err != nil || (d.Status != decision.StatusApproved && d.Status != decision.StatusExecuted) {
		t.Fatalf("after approving: %+v %v", d.Status, err)
	}
	resp, body = admin.post("/admin/decisions/"+deployID+"/approve", url.Values{"csrf": {token}})
	if resp.StatusCode < 400 || !strings.Contains(body, `class="alert"`) || !strings.Contains(body, `id="decision-status"`) {
		t.Fatalf("approving twice: %d", resp.StatusCode)
	}
	if _, body, _ := admin.get("/admin/decisions/" + deployID + "?replay=1"); !strings.Contains(body, `id="replay"`) {
		t.Error("the replay is not shown beside the recording")
	}
}
