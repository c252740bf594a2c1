package browser_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/mode"
)

// TestJourney4ConfigurationInABrowser walks Journey 4 as a POD Admin
// would: sign in → the configuration → find a parameter by a word →
// open it → a wrong value is refused beside its field → a value LIVE
// mode reads asks for the typed phrase → saved with it → its history
// shows the change; then the tenant page with what LIVE still lacks.
func TestJourney4ConfigurationInABrowser(t *testing.T) {
	url, a := platformApp(t)
	ctx := context.Background()
	const email, password, key = "ops@example.com", "quiet-harbor-lantern-42", "billing.markup_percent"
	if _, err := a.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "default", Email: email, Name: "Ops",
		Role: actor.RolePodAdmin, Password: password, Verified: true}); err != nil {
		t.Fatal(err)
	}
	markup := func() float64 { return a.Params.Snapshot().Float("", mode.Sandbox, key) }
	before := markup()

	b := newBrowser(t)
	b.do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
	b.until(t, `location.pathname === "/dashboard"`)

	b.do(t, chromedp.Navigate(url+"/admin/config"))
	b.until(t, `document.querySelector("table.params tr[data-param]") !== null`)
	if n := eval[int](t, b, `document.querySelectorAll("table.params .mode-LIVE").length`); n == 0 {
		t.Error("no parameter shows LIVE among the modes it affects")
	}
	b.consoleShots(t, "j4-config")

	b.do(t, chromedp.SetValue(chromedp.CSS("#q"), "markup"), chromedp.Click(chromedp.CSS(`form[role="search"] button`)))
	b.until(t, `location.search.includes("q=markup") && document.querySelector('tr[data-param="`+key+`"]') !== null`)
	if rows := eval[[]string](t, b, `[...document.querySelectorAll("tr[data-param]")].map(r => r.dataset.param)`); len(rows) == 0 {
		t.Fatal("searching markup finds nothing")
	} else {
		for _, k := range rows {
			if !strings.Contains(k, "markup") {
				t.Errorf("searching markup lists %s", k)
			}
		}
	}
	b.consoleShots(t, "j4-search")

	b.do(t, chromedp.Click(chromedp.CSS(`tr[data-param="`+key+`"] a`)))
	b.until(t, `location.pathname === "/admin/config/`+key+`" && document.getElementById("edit") !== null`)
	b.do(t, chromedp.SetValue(chromedp.CSS("#value"), "900"), chromedp.Click(chromedp.CSS(`#edit button[type="submit"]`)))
	b.until(t, `document.getElementById("value-error") !== null`)
	if msg := eval[string](t, b, `document.getElementById("value-error").innerText`); !strings.Contains(msg, "500") {
		t.Errorf("900 %% is refused with %q", msg)
	}
	if eval[string](t, b, `document.getElementById("value").getAttribute("aria-invalid")`) != "true" || markup() != before {
		t.Error("the refused field is not marked invalid, or the value was saved")
	}
	b.consoleShots(t, "j4-refused")

	b.do(t, chromedp.SetValue(chromedp.CSS("#value"), "12"), chromedp.Click(chromedp.CSS(`#edit button[type="submit"]`)))
	b.until(t, `document.getElementById("confirm") !== null`)
	if phrase := eval[string](t, b, `document.querySelector("label[for=confirm] code").innerText`); phrase != "global" {
		t.Errorf("the confirmation asks for %q", phrase)
	}
	if active := eval[string](t, b, `document.activeElement.id`); active != "confirm" {
		t.Errorf("the focus is on %q, not the confirmation", active)
	}
	if markup() != before {
		t.Fatal("the LIVE change was saved before it was confirmed")
	}
	b.consoleShots(t, "j4-confirm")

	b.do(t, chromedp.SendKeys(chromedp.CSS("#confirm"), "global"), chromedp.Click(chromedp.CSS(`#edit button[type="submit"]`)))
	b.until(t, `document.getElementById("done") !== null`)
	if markup() != 12 {
		t.Fatalf("after the confirmation the markup is %v", markup())
	}
	latest := eval[string](t, b, `document.querySelector("table.param-history tbody tr").innerText`)
	if !strings.Contains(latest, "set") || !strings.Contains(latest, "12") {
		t.Errorf("the history's newest change reads %q", latest)
	}
	b.consoleShots(t, "j4-saved")

	// A file with a wrong value is previewed with its problem, and
	// nothing of it applied.
	file := filepath.Join(t.TempDir(), "params.json")
	if err := os.WriteFile(file, []byte(`{"format":"gpubroker-params","version":1,"exported_at":"2026-11-24T00:00:00Z","params":[
  {"key":"`+key+`","value":"40"},
  {"key":"billing.currency","value":"btc"}
]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(t, chromedp.Navigate(url+"/admin/config"), chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}), chromedp.Click(chromedp.CSS(`form[action="/admin/config/import"] button`)))
	b.until(t, `document.getElementById("import-problems") !== null`)
	if problem := eval[string](t, b, `document.querySelector(".problems").innerText`); !strings.Contains(problem, "params[1].value") || markup() != 12 {
		t.Errorf("the import's problems read %q; the markup is %v", problem, markup())
	}
	b.consoleShots(t, "j4-import-refused")

	b.do(t, chromedp.Navigate(url+"/admin/tenant"))
	b.until(t, `document.getElementById("tenant-mode") !== null`)
	if eval[bool](t, b, `document.getElementById("live-missing") === null`) {
		t.Error("the tenant page does not list what LIVE lacks")
	}
	b.consoleShots(t, "j4-tenant")
}
