package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

// TestTheTenantGoesLIVEOnlyWhenReadyAndConfirmedAndBack: the tenant page
// lists what LIVE still lacks, as the switch's rule answers it, and a
// switch then is refused with the same list; once the live keys are set
// the switch asks for the tenant's id typed, refuses another phrase, and
// switches with it; every switch is listed from the audit, and the way
// back to SANDBOX asks the same.
func TestTheTenantGoesLIVEOnlyWhenReadyAndConfirmedAndBack(t *testing.T) {
	srv, p := serverOf(t)
	c := adminIn(t, srv, p, "ada@example.com")
	ctx := context.Background()
	modeNow := func() mode.Mode {
		tn, err := p.Tenants.Lookup(ctx, "default")
		if err != nil {
			t.Fatal(err)
		}
		return tn.Mode
	}
	switchTo := func(to, confirm string) (*http.Response, string) {
		t.Helper()
		_, _, token := page(t, c, srv.URL, "/admin/tenant")
		return post(t, c, srv.URL, "/admin/tenant/mode", url.Values{"csrf": {token}, "mode": {to}, "confirm": {confirm}})
	}

	status, body, _ := page(t, c, srv.URL, "/admin/tenant")
	if status != http.StatusOK || !strings.Contains(body, `id="tenant-mode">SANDBOX`) || !strings.Contains(body, `aria-current="page">Tenant and mode`) {
		t.Fatalf("the tenant page: %d", status)
	}
	missing := regexp.MustCompile(`(?s)<ul class="checklist" id="live-missing">(.*?)</ul>`).FindStringSubmatch(body)
	if missing == nil || !strings.Contains(missing[1], "stripe.secret_key for LIVE") || !strings.Contains(missing[1], "at least one provider") ||
		strings.Contains(body, `id="switch"`) || !strings.Contains(body, "has never switched") {
		t.Fatalf("the checklist of what LIVE lacks: %v", missing)
	}
	resp, body := switchTo("LIVE", "default")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="live-missing"`) || modeNow() != mode.Sandbox {
		t.Fatalf("switching while keys are missing: %d, now %s", resp.StatusCode, modeNow())
	}

	for key, value := range map[string]string{"stripe.secret_key": "sk_live_123", "stripe.publishable_key": "pk_live_123", "providers.lambda.api_key": "secret_lambda"} {
		if _, err := p.Params.Set(ctx, platformtest.Operator, params.SetRequest{Scope: params.Scope{TenantID: "default", Mode: mode.Live},
			Key: key, Value: value, Confirm: "default"}); err != nil {
			t.Fatal(err)
		}
	}
	_, body, _ = page(t, c, srv.URL, "/admin/tenant")
	if !strings.Contains(body, `id="live-ready"`) || !strings.Contains(body, `id="switch"`) {
		t.Fatal("with the live keys set the page does not offer the switch")
	}
	resp, body = switchTo("LIVE", "")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Type <code>default</code> to confirm") || modeNow() != mode.Sandbox {
		t.Fatalf("switching unconfirmed: %d, now %s", resp.StatusCode, modeNow())
	}
	resp, body = switchTo("LIVE", "DEFAULT")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(errorOf(body, "confirm"), "That is not default") || modeNow() != mode.Sandbox {
		t.Fatalf("switching with another phrase: %d, now %s", resp.StatusCode, modeNow())
	}
	resp, _ = switchTo("LIVE", "default")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/tenant?switched=1" || modeNow() != mode.Live {
		t.Fatalf("switching confirmed: %d → %s, now %s", resp.StatusCode, resp.Header.Get("Location"), modeNow())
	}
	_, body, _ = page(t, c, srv.URL, "/admin/tenant?switched=1")
	rows := regexp.MustCompile(`(?s)<tr data-switch>.*?</tr>`).FindAllString(body, -1)
	if !strings.Contains(body, `id="switched"`) || !strings.Contains(body, `id="tenant-mode">LIVE`) || len(rows) != 1 ||
		!regexp.MustCompile(`(?s)SANDBOX</span>.*LIVE</span>`).MatchString(rows[0]) || !strings.Contains(body, "Switch to SANDBOX") {
		t.Fatalf("after the switch: %d rows %v", len(rows), rows)
	}

	resp, _ = switchTo("SANDBOX", "")
	if resp.StatusCode != http.StatusConflict || modeNow() != mode.Live {
		t.Fatalf("back to SANDBOX unconfirmed: %d, now %s", resp.StatusCode, modeNow())
	}
	resp, _ = switchTo("SANDBOX", "default")
	if resp.StatusCode != http.StatusSeeOther || modeNow() != mode.Sandbox {
		t.Fatalf("back to SANDBOX confirmed: %d, now %s", resp.StatusCode, modeNow())
	}
	_, body, _ = page(t, c, srv.URL, "/admin/tenant")
	if n := strings.Count(body, "<tr data-switch>"); n != 2 {
		t.Errorf("%d past switches listed, want 2", n)
	}
	resp, _ = switchTo("PAUSED", "default")
	if resp.StatusCode != http.StatusUnprocessableEntity || modeNow() != mode.Sandbox {
		t.Errorf("a mode that is not one: %d", resp.StatusCode)
	}
}
