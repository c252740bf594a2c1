package browser_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/params"
)

// consoleAdmin makes a POD Admin of the default tenant and signs the
// browser in as them.
func consoleAdmin(t *testing.T, b *browser, a *app.App, url, email string) {
	t.Helper()
	const password = "steady-orbit-lantern-58"
	if _, err := a.Identity.CreateUser(context.Background(), actor.System("test"), auth.NewUser{TenantID: "default", Email: email,
		Name: "Ops", Role: actor.RolePodAdmin, Password: password, Verified: true}); err != nil {
		t.Fatal(err)
	}
	b.do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
	b.until(t, `document.querySelector(".who") !== null`)
}

// setParams sets global parameters for a test.
func setParams(t *testing.T, a *app.App, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if _, err := a.Params.Set(context.Background(), actor.System("test"), params.SetRequest{Key: kv[i], Value: kv[i+1], Confirm: "global"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJourney3TheAgentsConsoleInABrowser walks Journey 3: an admin signs
// in → the agent's dashboard → sets its budget → starts it with a goal →
// its steps stream in and its deploy appears among the latest decisions,
// waiting, without a reload → the decision's page → override it → the
// audit log shows the override. Screenshots at 768 and 1280 px.
func TestJourney3TheAgentsConsoleInABrowser(t *testing.T) {
	url, a := platformApp(t)
	// Deploys above a dollar wait for an admin.
	setParams(t, a, "agent.approval", "above_cost", "agent.approval_above_usd", "1")
	b := newBrowser(t)
	consoleAdmin(t, b, a, url, "ops@example.com")
	shots := func(name string) {
		t.Helper()
		b.consoleShots(t, name)
	}

	b.do(t, chromedp.Click(chromedp.CSS(`nav a[href="/admin"]`)))
	b.until(t, `location.pathname === "/admin/agent" && document.querySelector("#budget-chart canvas") !== null`)
	b.until(t, `document.getElementById("stream-status").textContent.startsWith("Live")`)
	shots("j3-agent")

	for field, value := range map[string]string{"per_action_usd": "50", "per_day_usd": "100", "per_month_usd": "1000"} {
		eval[string](t, b, `document.getElementById("`+field+`").value = ""`)
		b.do(t, chromedp.SendKeys(chromedp.CSS("#"+field), value))
	}
	eval[int](t, b, `window.before = 1`)
	b.do(t, chromedp.Click(chromedp.CSS(`form[action="/admin/agent/budget"] button`)))
	b.until(t, `window.before === undefined && document.readyState === "complete"`)
	if eval[bool](t, b, `document.getElementById("confirm") !== null`) {
		phrase := strings.TrimSuffix(strings.TrimPrefix(eval[string](t, b, `document.querySelector('label[for="confirm"]').textContent`), "Type "), " to confirm")
		shots("j3-budget-confirm")
		b.do(t, chromedp.SendKeys(chromedp.CSS("#confirm"), phrase), chromedp.Click(chromedp.CSS(`form[action="/admin/agent/budget"] button`)))
	}
	b.until(t, `location.pathname === "/admin/agent" && parseFloat(document.getElementById("per_day_usd").value) === 100 && document.getElementById("confirm") === null`)

	eval[string](t, b, `document.getElementById("goals").value = ""`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#goals"), "keep 1 × A100-SXM-80GB running below $10/h"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/agent/start"] button`)))
	b.until(t, `document.getElementById("agent-state").textContent === "running"`)
	eval[int](t, b, `window.notReloaded = 1`)
	b.until(t, `document.querySelector('#steps li.step-step') !== null`)
	row := `document.querySelector('table[data-live-decisions] tr[data-decision] [data-status]')`
	b.until(t, row+` !== null && [...document.querySelectorAll('table[data-live-decisions] [data-status]')].some(s => s.textContent === "awaiting_approval")`)
	if !eval[bool](t, b, `window.notReloaded === 1`) {
		t.Error("the dashboard reloaded to show the decision")
	}
	shots("j3-decision-live")

	b.do(t, chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/decisions"]`)))
	b.until(t, `location.pathname === "/admin/decisions" && document.querySelector('tr[data-decision] .status-awaiting_approval') !== null`)
	shots("j3-decisions")
	b.do(t, chromedp.Click(chromedp.CSS(`tr[data-decision]:has(.status-awaiting_approval) th a`)))
	b.until(t, `document.getElementById("override") !== null`)
	shots("j3-decision")
	decisionID := eval[string](t, b, `document.getElementById("decision-status").dataset.decisionPage`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#reason"), "deploy it, but as I say"), chromedp.Click(chromedp.CSS(`#override button`)))
	b.until(t, `document.getElementById("override") === null || document.querySelector(".alert") !== null`)
	if alert := eval[string](t, b, `document.querySelector(".alert") ? document.querySelector(".alert").textContent : ""`); alert != "" {
		t.Fatalf("the override was refused: %s", alert)
	}
	// The admin's call ran instead of the agent's: overridden, then
	// executed, the reason kept.
	if status := eval[string](t, b, `document.getElementById("decision-status").textContent`); status != "executed" && status != "overridden" {
		t.Errorf("after the override the decision is %s", status)
	}
	if !eval[bool](t, b, `document.querySelector("main").innerText.includes("deploy it, but as I say")`) {
		t.Error("the decision's page does not keep the override's reason")
	}
	if !eval[bool](t, b, `document.querySelector("main").innerText.includes("decided by ops@example.com")`) {
		t.Error("the decision's page does not name the admin who decided")
	}
	shots("j3-overridden")

	b.do(t, chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/audit"]`)))
	b.until(t, `location.pathname === "/admin/audit" && document.getElementById("tool") !== null`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#tool"), "override_decision"), chromedp.Click(chromedp.CSS(`form[action="/admin/audit"] button[type="submit"]`)))
	b.until(t, `location.search.includes("tool=override_decision") && document.querySelector("tr[data-record] th a") !== null`)
	if n := eval[int](t, b, `document.querySelectorAll("tr[data-record]").length`); n != 1 {
		t.Errorf("the audit log shows %d overrides", n)
	}
	shots("j3-audit")
	b.do(t, chromedp.Click(chromedp.CSS(`tr[data-record] th a`)))
	b.until(t, `location.pathname.startsWith("/admin/audit/") && document.querySelector("main").innerText.includes("`+decisionID+`")`)
	shots("j3-audit-record")
}
