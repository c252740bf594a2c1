package browser_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// widths are the screens every page is checked and photographed at.
var widths = []int64{375, 768, 1280}

// chromium finds the browser: CHROMIUM, else chromium on the PATH.
// Without one the tests are skipped, except under CI=true, where a
// missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required under CI=true: make test-deps installs it")
	}
	t.Skip("no chromium: make test-deps installs it")
	return ""
}

// platform starts a seeded platform on loopback and answers its URL.
func platform(t *testing.T) string {
	t.Helper()
	url, _ := platformApp(t)
	return url
}

// platformApp is platform, with the app for a test to act on.
func platformApp(t *testing.T) (string, *app.App) {
	t.Helper()
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, a
}

// browser is a headless Chromium tab; problems collects what its console
// reported as errors or warnings, and its uncaught exceptions (a script
// error, a load the policy refused).
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{ctx: ctx}
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// A page answered 4xx on purpose (a refused form) is the
			// test's to check; an asset that fails to load is a problem.
			if strings.HasPrefix(m.Text, "Failed to load resource") && !strings.Contains(m.URL, "/static/") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps, each bounded in time.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval answers a JavaScript expression's value in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// until waits for a JavaScript condition to hold in the page.
func (b *browser) until(t *testing.T, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !eval[bool](t, b, notYet(cond)) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", cond)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// notYet is cond made false, not an error, where it throws: a page still
// loading may not have what cond reads yet.
func notYet(cond string) string {
	return `(() => { try { return !!(` + cond + `); } catch (e) { return false; } })()`
}

// reloadUntil waits for a JavaScript condition on a page that does not
// update itself (the mailbox, whose mail is delivered through the event
// stream a moment after what sent it), reloading it between looks.
func (b *browser) reloadUntil(t *testing.T, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !eval[bool](t, b, notYet(cond)) {
		if time.Now().After(deadline) {
			t.Fatalf("never, reloading: %s", cond)
		}
		time.Sleep(200 * time.Millisecond)
		b.do(t, chromedp.Reload())
	}
}

// noProblems fails the test with what the page's console reported.
func (b *browser) noProblems(t *testing.T, page string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("%s: %s", page, strings.Join(b.problems, "; "))
	}
	b.problems = nil
}

// shot photographs the whole page at the tab's width into
// screenshots/<name>-<width>.png.
func (b *browser) shot(t *testing.T, name string, width int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("screenshots", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("screenshots", fmt.Sprintf("%s-%d.png", name, width)), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fits checks the page does not scroll sideways at the tab's width (a
// table may scroll within its own region) once it has laid itself out.
func (b *browser) fits(t *testing.T, page string, width int64) {
	t.Helper()
	// Charts follow their container's new width a frame or two after the
	// viewport changes: what counts is the page once laid out again.
	deadline := time.Now().Add(2 * time.Second)
	for eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		if time.Now().After(deadline) {
			t.Errorf("%s scrolls sideways at %d px", page, width)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTheFrontPageAndThePlansInABrowser: at each width the front page
// shows the cheapest offer of the popular GPUs and the providers, its
// first Tab reaches the skip link, and it fits the screen; the plans page
// switches to annual prices in place and keeps the interval in each
// choice; no page reports a script error or a refused load.
func TestTheFrontPageAndThePlansInABrowser(t *testing.T) {
	url := platform(t)
	b := newBrowser(t)
	for _, w := range widths {
		b.do(t, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS("table.prices")))
		if rows := eval[int](t, b, `document.querySelectorAll("table.prices td.price:not(.muted)").length`); rows < 5 {
			t.Errorf("%d px: %d GPUs priced on the front page", w, rows)
		}
		b.do(t, chromedp.KeyEvent("\t"))
		if focused := eval[string](t, b, `document.activeElement.textContent.trim()`); focused != "Skip to content" {
			t.Errorf("%d px: the first Tab reaches %q, not the skip link", w, focused)
		}
		b.fits(t, "the front page", w)
		b.noProblems(t, "the front page")
		b.shot(t, "landing", w)

		b.do(t, chromedp.Navigate(url+"/plans"), chromedp.WaitVisible(chromedp.CSS(".plans")),
			chromedp.Click(chromedp.CSS(`.interval a[data-interval="annual"]`)))
		shown := eval[string](t, b, `document.querySelector(".plans").dataset.shown`)
		href := eval[string](t, b, `document.querySelector(".plan.recommended a[data-plan]").href`)
		price := eval[string](t, b, `document.querySelector(".plan.recommended .amount.annual .figure").innerText`)
		visible := eval[bool](t, b, `document.querySelector(".plan.recommended .amount.annual").offsetParent !== null`)
		if shown != "annual" || !strings.HasSuffix(href, "/register?plan=pro&interval=annual") || price != "$290.00" || !visible {
			t.Errorf("%d px: after Annual the plans show %q (visible %v), PRO leads to %q at %q", w, shown, visible, href, price)
		}
		b.fits(t, "the plans page", w)
		b.noProblems(t, "the plans page")
		b.shot(t, "plans", w)
	}
}

// TestRegisteringAndSigningInInABrowser: the registration form meters the
// password as it is typed, shows the server's refusal beside the field,
// and once the account is open (confirmed at once in SANDBOX) the person
// is signed in; signing out and in again works; each page is photographed
// at each width.
func TestRegisteringAndSigningInInABrowser(t *testing.T) {
	url := platform(t)
	b := newBrowser(t)
	for i, w := range widths {
		email := fmt.Sprintf("ana%d@example.com", i)
		b.do(t, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url+"/register?plan=pro"), chromedp.WaitVisible(chromedp.CSS("form")),
			chromedp.SendKeys(chromedp.CSS("#name"), "Ana"), chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), "password"))
		if v := eval[int](t, b, `document.getElementById("strength").value`); v != 0 {
			t.Errorf("%d px: a weak password meters %d", w, v)
		}
		b.shot(t, "register", w)
		b.do(t, chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#password-error")))
		if msg := eval[string](t, b, `document.getElementById("password-error").innerText`); msg == "" {
			t.Errorf("%d px: no reason beside the password", w)
		}
		b.fits(t, "the refused registration", w)
		b.shot(t, "register-refused", w)

		b.do(t, chromedp.SendKeys(chromedp.CSS("#password"), "quiet-harbor-lantern-42"))
		if v := eval[int](t, b, `document.getElementById("strength").value`); v < 3 {
			t.Errorf("%d px: a strong password meters %d", w, v)
		}
		b.do(t, chromedp.Click(chromedp.CSS(`form[action="/register"] button`)))
		b.until(t, `document.querySelector(".who") !== null`)
		if who := eval[string](t, b, `document.querySelector(".who").textContent`); who != email {
			t.Errorf("%d px: signed in as %q", w, who)
		}
		b.do(t, chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/signin"]`)),
			chromedp.Navigate(url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), "not-the-password-1"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".alert")))
		b.shot(t, "signin-refused", w)
		b.do(t, chromedp.SendKeys(chromedp.CSS("#password"), "quiet-harbor-lantern-42"), chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
		b.until(t, `document.querySelector(".who") !== null`)
		b.noProblems(t, "registration and sign-in")
		b.do(t, chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/signin"]`)))
	}
}

// TestPayingForAPlanInABrowser: choosing PRO on the plans page leads
// through registration to the payment page, which names the SANDBOX test
// cards; a declined card is shown clearly and another one tried; 4242
// subscribes.
func TestPayingForAPlanInABrowser(t *testing.T) {
	url := platform(t)
	b := newBrowser(t)
	for i, w := range widths {
		b.do(t, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url+"/plans"), chromedp.WaitVisible(chromedp.CSS(".plans")),
			chromedp.Click(chromedp.CSS(`.plan.recommended a[data-plan]`)), chromedp.WaitVisible(chromedp.CSS("#name")),
			chromedp.SendKeys(chromedp.CSS("#name"), "Cy"), chromedp.SendKeys(chromedp.CSS("#email"), fmt.Sprintf("cy%d@example.com", i)),
			chromedp.SendKeys(chromedp.CSS("#password"), "quiet-harbor-lantern-42"), chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
		b.until(t, `document.getElementById("card_number") !== null`)
		b.fits(t, "the payment page", w)
		b.shot(t, "pay", w)
		b.do(t, chromedp.SendKeys(chromedp.CSS("#card_number"), "4000 0000 0000 0002"),
			chromedp.Click(chromedp.CSS(`form[action="/billing/pay"] button`)))
		b.until(t, `document.getElementById("card-error") !== null`)
		b.shot(t, "pay-declined", w)
		eval[string](t, b, `document.getElementById("card_number").value = ""`)
		b.do(t, chromedp.SendKeys(chromedp.CSS("#card_number"), "4242 4242 4242 4242"),
			chromedp.Click(chromedp.CSS(`form[action="/billing/pay"] button`)))
		b.until(t, `document.getElementById("card_number") === null && document.querySelector("h1") !== null`)
		if h1 := eval[string](t, b, `document.querySelector("h1").innerText`); h1 != "You are on pro" {
			t.Errorf("%d px: after 4242 the page says %q", w, h1)
		}
		b.noProblems(t, "the payment")
		b.shot(t, "paid", w)
		b.do(t, chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href="/signin"]`)))
	}
}

// TestADashboardSeesItsPodChangeWithoutReloading: a person's dashboard
// lists their pod; when the pod moves (terminated through the tools, as
// another tab or the agent might), its state changes on the open page over
// the WebSocket, and the page was not reloaded.
func TestADashboardSeesItsPodChangeWithoutReloading(t *testing.T) {
	url, a := platformApp(t)
	b := newBrowser(t)
	pod, call := registeredWithAPod(t, b, a, url, "Di", "di@example.com")
	cell := `document.querySelector('tr[data-pod="` + pod.ID + `"] [data-state]')`
	b.do(t, chromedp.Navigate(url+"/dashboard"))
	b.until(t, cell+` !== null && `+cell+`.textContent === "ready" && document.getElementById("live-status").textContent.startsWith("Live")`)
	eval[int](t, b, `window.notReloaded = 1`)
	b.shot(t, "dashboard", 1280)
	call(tools.ToolTerminatePod, `{"id":"`+pod.ID+`"}`)
	b.until(t, `["terminating", "terminated"].includes(`+cell+`.textContent)`)
	if !eval[bool](t, b, `window.notReloaded === 1`) {
		t.Error("the dashboard reloaded to show the change")
	}
	b.noProblems(t, "the dashboard")
	b.shot(t, "dashboard-live", 1280)

	// The pod's activation mail waits in the SANDBOX mailbox, its link
	// opening on this origin.
	for _, w := range widths {
		b.do(t, chromedp.EmulateViewport(w, 900), chromedp.Navigate(url+"/mailbox"))
		b.reloadUntil(t, `document.querySelector('.mail[data-kind="activation"] a[href^="/pods/"][href*="/activate?token="]') !== null`)
		b.fits(t, "the mailbox", w)
		b.shot(t, "mailbox", w)
	}
	b.noProblems(t, "the mailbox")
}

// registeredWithAPod registers a person in the browser (signed in at once
// in SANDBOX, on the FREE plan opened to every GPU), then configures and
// deploys an L4 pod for them through the tools, as another tab or the
// agent would, and waits until it is ready. It answers the pod and a
// caller of the tools as that person.
func registeredWithAPod(t *testing.T, b *browser, a *app.App, url, name, email string) (pods.Pod, func(tool, input string) tools.Result) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Key: "plans.free.gpu_classes", Value: "*", Confirm: "global"}); err != nil {
		t.Fatal(err)
	}
	b.do(t, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/register"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name), chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), "quiet-harbor-lantern-42"), chromedp.Click(chromedp.CSS(`form[action="/register"] button`)))
	b.until(t, `document.querySelector(".who") !== null`)
	u, err := a.Store.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	who := actor.Actor{Kind: actor.KindUser, ID: u.ID, TenantID: u.TenantID, Role: u.Role}
	call := func(tool, input string) tools.Result {
		t.Helper()
		res := a.Tools.Call(ctx, tools.Request{Actor: who, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
		if res.Err != nil {
			t.Fatalf("%s: %v", tool, res.Err)
		}
		return res
	}
	pod := call(tools.ToolConfigurePod, `{"name":"train","gpu":"L4-PCIE-24GB","gpu_count":1,"provider":"auto","vcpu":4,"ram_gib":16,"disk_gib":50,`+
		`"image":"cuda-12.4-base","pricing":"on_demand"}`).Output.(tools.PodQuote).Pod
	call(tools.ToolDeployPod, `{"id":"`+pod.ID+`"}`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := a.Pods.Get(ctx, who.TenantID, pod.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == pods.Ready {
			return p, call
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod is %s, never ready", p.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
