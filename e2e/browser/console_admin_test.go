package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/events"
)

// TestTheConsolesAuditUsersAndHealthPagesInABrowser: a POD Admin signs
// in and filters the audit log to the sign-ins allowed and opens one; on the
// users page creates an API token, whose secret the next page shows once
// with a working copy button and the users page never again; and finds
// the outbox depth on the health page. Each page is photographed at 375,
// 768 and 1280 px, fits the screen and reports no problem.
func TestTheConsolesAuditUsersAndHealthPagesInABrowser(t *testing.T) {
	url, a := platformApp(t)
	ctx := context.Background()
	const email, password = "ada@example.com", "quiet-harbor-lantern-42"
	if _, err := a.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "default", Email: email, Name: "Ada",
		Role: actor.RolePodAdmin, Password: password, Verified: true}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
	b.until(t, `document.querySelector(".who") !== null`)

	t.Run("audit", func(t *testing.T) {
		b.do(t, chromedp.Navigate(url+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("#face")))
		b.until(t, `document.querySelectorAll("tr[data-record]").length > 0`)
		b.do(t, chromedp.SetValue(chromedp.CSS("#verdict"), "allow"), chromedp.SendKeys(chromedp.CSS("#tool"), "auth.login"),
			chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
		b.until(t, `location.search.includes("verdict=allow") && document.querySelectorAll("tr[data-record]").length > 0`)
		if tools := eval[[]string](t, b, `[...document.querySelectorAll("tr[data-record] th a")].map(a => a.textContent)`); len(tools) == 0 ||
			strings.Join(tools, "") != strings.Repeat("auth.login", len(tools)) {
			t.Errorf("filtered to sign-ins, the log lists %v", tools)
		}
		if href := eval[string](t, b, `document.querySelector('a[href^="/admin/audit.csv"]').getAttribute("href")`); !strings.Contains(href, "tool=auth.login") {
			t.Errorf("the export link %q drops the filters", href)
		}
		b.journeyShots(t, "console-audit")
		b.do(t, chromedp.Click(chromedp.CSS(`tr[data-record] th a`)))
		b.until(t, `location.pathname.startsWith("/admin/audit/") && document.querySelector("dl.record") !== null`)
		if page := eval[string](t, b, `document.querySelector("main").innerText`); strings.Contains(page, password) {
			t.Error("the sign-in's record shows the password")
		}
		b.journeyShots(t, "console-audit-record")
	})

	t.Run("users", func(t *testing.T) {
		b.do(t, chromedp.Navigate(url+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#token-name")))
		b.journeyShots(t, "console-users")
		b.do(t, chromedp.SendKeys(chromedp.CSS("#token-name"), "nightly report"), chromedp.SetValue(chromedp.CSS("#token-role"), "user"),
			chromedp.SendKeys(chromedp.CSS("#token-scopes"), "read, offers"), chromedp.Click(chromedp.CSS(`#create-token button[type="submit"]`)))
		b.until(t, `document.getElementById("token-secret") !== null`)
		secret := eval[string](t, b, `document.getElementById("token-secret").textContent.trim()`)
		if len(secret) < 20 {
			t.Fatalf("the secret shown is %q", secret)
		}
		if _, err := a.Identity.Authenticate(ctx, secret); err != nil {
			t.Errorf("the secret shown does not authenticate: %v", err)
		}
		b.do(t, grantClipboard(url), chromedp.Click(chromedp.CSS(`button[data-copy]`)))
		b.until(t, `document.querySelector("[data-copied]").textContent !== ""`)
		if said := eval[string](t, b, `document.querySelector("[data-copied]").textContent`); said != "Copied." {
			t.Errorf("the copy button says %q", said)
		}
		b.journeyShots(t, "console-token")
		b.do(t, chromedp.Navigate(url+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("#token-name")))
		if body := eval[string](t, b, `document.documentElement.outerHTML`); strings.Contains(body, secret) || !strings.Contains(body, "nightly report") {
			t.Errorf("back on the users page, the secret is shown again (%v) or the token is not listed", strings.Contains(body, secret))
		}
	})

	t.Run("health", func(t *testing.T) {
		for i := range 2 {
			e, err := events.New("tenant.noted", "default", "default", map[string]int{"n": i}, time.Now().Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			// Enqueued behind the relay's back it stays pending a moment;
			// the page is read as it is, the relay may catch up after.
			if err := a.Store.Enqueue(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		b.do(t, chromedp.Navigate(url+"/admin/health"), chromedp.WaitVisible(chromedp.CSS("#outbox-depth")))
		if depth := eval[string](t, b, `document.querySelector("#outbox-depth .card-figure").textContent`); depth == "" {
			t.Error("no outbox depth")
		}
		if n := eval[int](t, b, `document.querySelectorAll("tr[data-provider]").length`); n < 20 {
			t.Errorf("%d providers on the health page", n)
		}
		b.journeyShots(t, "console-health")
	})
}

// grantClipboard lets the page at origin write to the clipboard, as a
// person's browser lets the page they click a copy button on.
func grantClipboard(origin string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin})
		return err
	})
}
