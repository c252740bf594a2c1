package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/providers"
)

// journeyShots photographs the page at each width, checking it fits and
// reports no problem, and leaves the tab at the widest.
func (b *browser) journeyShots(t *testing.T, name string) {
	t.Helper()
	b.shotsFrom(t, name, 0)
}

// consoleShots checks the page fits at every width and photographs it at
// 768 and 1280 px, the console's screens, leaving the tab at 1280.
func (b *browser) consoleShots(t *testing.T, name string) {
	t.Helper()
	b.shotsFrom(t, name, 768)
}

// shotsFrom checks the page fits at every width and reports no problem,
// photographs it at the widths from least on, and leaves the tab at the
// widest.
func (b *browser) shotsFrom(t *testing.T, name string, least int64) {
	t.Helper()
	for _, w := range widths {
		b.do(t, chromedp.EmulateViewport(w, 900))
		b.fits(t, name, w)
		if w >= least {
			b.shot(t, name, w)
		}
	}
	b.noProblems(t, name)
}

// darkScheme makes the tab prefer the dark colour scheme.
func darkScheme() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia,
			emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})
}

// path is the tab's location path.
func (b *browser) path(t *testing.T) string {
	t.Helper()
	return eval[string](t, b, `location.pathname`)
}

// TestTheUserJourneysInABrowser walks Journey 1 and then Journey 2 on one
// platform, as a person would, photographing every page at 375, 768 and
// 1280 px.
//
// Journey 1, a new user: the front page → the plans → PRO → register
// (SANDBOX confirms the address at once) → pay with 4242 → the dashboard
// → browse, where a price moves on the open page → configure a pod on an
// offer, its estimate following a change → save → deploy, the pod moving
// pending → provisioning → ready on the open page → the mailbox → the
// activation link → activate → running, with how to connect.
//
// Journey 2, the same person returning in a new browser: sign in → the
// dashboard with the first pod → browse → configure → deploy → activate →
// running, never asked to pay again.
func TestTheUserJourneysInABrowser(t *testing.T) {
	url, a := platformApp(t)
	ctx := context.Background()
	// Machines take a moment to start, so the page can be seen following.
	if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Key: "sandbox.provision_delay", Value: "2s", Confirm: "global"}); err != nil {
		t.Fatal(err)
	}
	const email, password = "jo@example.com", "quiet-harbor-lantern-42"

	t.Run("journey 1", func(t *testing.T) {
		b := newBrowser(t)
		b.do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS("table.prices")))
		b.journeyShots(t, "j1-landing")
		b.do(t, chromedp.Click(chromedp.CSS(`.hero a[href="/plans"]`)), chromedp.WaitVisible(chromedp.CSS(".plans")))
		b.journeyShots(t, "j1-plans")
		b.do(t, chromedp.Click(chromedp.CSS(`.plan.recommended a[data-plan]`)), chromedp.WaitVisible(chromedp.CSS("#name")),
			chromedp.SendKeys(chromedp.CSS("#name"), "Jo"), chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password))
		b.journeyShots(t, "j1-register")
		b.do(t, chromedp.Click(chromedp.CSS(`form[action="/register"] button`)))
		b.until(t, `document.getElementById("card_number") !== null`)
		b.journeyShots(t, "j1-pay")
		b.do(t, chromedp.SendKeys(chromedp.CSS("#card_number"), "4242 4242 4242 4242"), chromedp.Click(chromedp.CSS(`form[action="/billing/pay"] button`)))
		b.until(t, `document.getElementById("card_number") === null && document.querySelector("h1") !== null`)
		if h1 := eval[string](t, b, `document.querySelector("h1").innerText`); h1 != "You are on pro" {
			t.Fatalf("after 4242 the page says %q", h1)
		}
		b.journeyShots(t, "j1-paid")
		b.do(t, chromedp.Click(chromedp.CSS(`main a[href="/dashboard"]`)))
		b.until(t, `location.pathname === "/dashboard"`)
		b.journeyShots(t, "j1-dashboard")

		deployAndActivate(t, b, a, url, "1", true)
	})

	t.Run("journey 2", func(t *testing.T) {
		b := newBrowser(t)
		b.do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
		b.journeyShots(t, "j2-signin")
		b.do(t, chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
		b.until(t, `location.pathname === "/dashboard" && document.querySelector("tr[data-pod]") !== null`)
		b.journeyShots(t, "j2-dashboard")
		// Signed in, the person lands on the dashboard, not the payment
		// page, and deploys on the card saved in journey 1.
		deployAndActivate(t, b, a, url, "2", false)

		// The same pages in the dark scheme keep their contrast and
		// their charts follow the tokens.
		b.do(t, darkScheme())
		for _, page := range []struct{ path, name, ready string }{
			{b.path(t), "dark-pod", `document.getElementById("ssh-command") !== null`},
			{"/dashboard", "dark-dashboard", `document.querySelector("tr[data-pod]") !== null`},
			{"/offers", "dark-browse", `document.querySelector("tr[data-offer]") !== null`},
			{"/billing", "dark-billing", `document.querySelector(".uplot canvas") !== null`},
		} {
			b.do(t, chromedp.Navigate(url+page.path))
			b.until(t, page.ready)
			if bg := eval[string](t, b, `getComputedStyle(document.documentElement).backgroundColor`); bg != "rgb(13, 17, 23)" {
				t.Errorf("%s: the dark scheme's background is %s", page.path, bg)
			}
			b.journeyShots(t, page.name)
		}
	})
}

// deployAndActivate goes from the dashboard to a running pod: browse
// (where, when live is set, a price change arrives on the open page),
// configure on the first offer, save, deploy and watch it become ready,
// then the mailbox and the activation link.
func deployAndActivate(t *testing.T, b *browser, a *app.App, url, journey string, live bool) {
	t.Helper()
	name := "j" + journey + "-"
	b.do(t, chromedp.Click(chromedp.CSS(`nav a[href="/offers"]`)), chromedp.WaitVisible(chromedp.CSS("form.filters")))
	b.do(t, chromedp.SetValue(chromedp.CSS("#gpu"), "L4-PCIE-24GB"), chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
	b.until(t, `location.search.includes("gpu=L4-PCIE-24GB") && document.querySelector("tr[data-offer]") !== null`)
	b.until(t, `document.getElementById("live-status").textContent.startsWith("Live")`)
	if live {
		// A refresh finds the first offer dearer and scarcer: the event
		// reaches the open page through the outbox, the event stream and
		// the WebSocket, and the row changes without a reload.
		offer := eval[string](t, b, `document.querySelector("tr[data-offer]").dataset.offer`)
		eval[int](t, b, `window.notReloaded = 1`)
		e, err := events.New(market.EventPricesUpdated, "sandbox", "", market.PricesUpdated{Feed: "sandbox", Offers: []market.PricePoint{
			{OfferID: offer, Provider: providers.ProviderOfOffer(offer), GPU: "L4-PCIE-24GB", PriceHour: 987.654, Availability: providers.Limited, At: time.Now()}}},
			time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.InTx(context.Background(), func(ctx context.Context) error { return a.Store.Enqueue(ctx, e) }); err != nil {
			t.Fatal(err)
		}
		row := `document.querySelector('tr[data-offer="` + offer + `"]')`
		b.until(t, row+`.querySelector("[data-price]").textContent === "$987.654/h" && `+row+`.querySelector("[data-avail]").textContent === "limited"`)
		if !eval[bool](t, b, `window.notReloaded === 1`) {
			t.Error("the browse page reloaded to show the price")
		}
	}
	b.journeyShots(t, name+"browse")

	b.do(t, chromedp.Click(chromedp.CSS(`tr[data-offer] a[href^="/pods/new?offer="]`)), chromedp.WaitVisible(chromedp.CSS("#configure")))
	b.until(t, `document.querySelector('[data-cost="month"]').textContent.startsWith("$")`)
	storage := eval[string](t, b, `document.querySelector('[data-cost="storage_hour"]').textContent`)
	eval[string](t, b, `document.getElementById("disk_gib").value = ""`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#disk_gib"), "900"))
	b.until(t, `document.querySelector('[data-cost="storage_hour"]').textContent !== "`+storage+`" && document.getElementById("estimate-status").textContent.startsWith("On ")`)
	eval[string](t, b, `document.getElementById("name").value = ""`)
	b.do(t, chromedp.SendKeys(chromedp.CSS("#name"), "train-"+journey))
	b.journeyShots(t, name+"configure")
	b.do(t, chromedp.Click(chromedp.CSS(`#configure button[type="submit"]`)))
	b.until(t, `location.pathname.startsWith("/pods/") && document.querySelector('form[action$="/deploy"]') !== null`)
	podID := strings.TrimPrefix(b.path(t), "/pods/")
	b.journeyShots(t, name+"deploy")

	b.do(t, chromedp.Click(chromedp.CSS(`form[action$="/deploy"] button`)))
	b.until(t, `document.querySelector("article.pod") !== null && ["pending", "provisioning"].includes(document.querySelector("article.pod").dataset.podState)`)
	eval[int](t, b, `window.notReloaded = 1`)
	b.journeyShots(t, name+"provisioning")
	b.until(t, `document.querySelector("article.pod").dataset.podState === "ready" && !document.querySelector('[data-when="ready"]').hidden`)
	if !eval[bool](t, b, `window.notReloaded === 1`) {
		t.Error("the pod's page reloaded to follow the pod")
	}
	if got := eval[string](t, b, `[...document.querySelectorAll(".progress li.done")].map(li => li.dataset.step).join(" ")`); got != "pending provisioning" {
		t.Errorf("on ready the steps done are %q", got)
	}
	b.journeyShots(t, name+"ready")

	b.do(t, chromedp.Click(chromedp.CSS(`nav a[href="/mailbox"]`)))
	link := `document.querySelector('.mail[data-kind="activation"] a[href^="/pods/` + podID + `/activate?token="]')`
	b.until(t, `location.pathname === "/mailbox" && document.readyState === "complete"`)
	b.reloadUntil(t, link+` !== null`)
	b.journeyShots(t, name+"mailbox")
	b.do(t, chromedp.Click(chromedp.CSS(`.mail[data-kind="activation"] a[href^="/pods/`+podID+`/activate?token="]`)))
	b.until(t, `document.querySelector('form[action$="/activate"]') !== null`)
	b.journeyShots(t, name+"activate")
	b.do(t, chromedp.Click(chromedp.CSS(`form[action$="/activate"] button`)))
	b.until(t, `location.pathname === "/pods/`+podID+`" && document.getElementById("ssh-command") !== null`)
	if state := eval[string](t, b, `document.querySelector("article.pod").dataset.podState`); state != "running" {
		t.Errorf("after activation the pod is %s", state)
	}
	if ssh := eval[string](t, b, `document.getElementById("ssh-command").textContent`); !strings.HasPrefix(ssh, "ssh ") {
		t.Errorf("the SSH command is %q", ssh)
	}
	b.journeyShots(t, name+"running")
}
