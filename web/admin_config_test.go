package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

// adminIn answers a client signed in as a new POD Admin of the
// operator's tenant (default), through the sign-in form.
func adminIn(t *testing.T, srv *httptest.Server, p *platformtest.Platform, email string) *http.Client {
	t.Helper()
	const password = "quiet-harbor-lantern-42"
	if _, err := p.Identity.CreateUser(context.Background(), actor.System("test"), auth.NewUser{TenantID: "default", Email: email, Name: "Ada",
		Role: actor.RolePodAdmin, Password: password, Verified: true}); err != nil {
		t.Fatal(err)
	}
	c := browserClient(t)
	_, _, token := page(t, c, srv.URL, "/signin")
	resp, body := post(t, c, srv.URL, "/signin", url.Values{"csrf": {token}, "email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in %s: %d\n%s", email, resp.StatusCode, body)
	}
	return c
}

// errorOf is the message a page shows beside field.
func errorOf(body, field string) string {
	m := regexp.MustCompile(`<p class="error" id="` + field + `-error"[^>]*>([^<]+)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestTheConfigurationAndTenantPagesAreOnlyForAdmins: a signed-in user
// who is not a POD Admin finds none of them, and changes nothing.
func TestTheConfigurationAndTenantPagesAreOnlyForAdmins(t *testing.T) {
	srv, p := serverOf(t)
	c := signedIn(t, srv, "eve@example.com")
	for _, path := range []string{"/admin/config", "/admin/config/billing.markup_percent", "/admin/config/export", "/admin/tenant"} {
		if status, _, _ := page(t, c, srv.URL, path); status != http.StatusNotFound {
			t.Errorf("%s answers a user %d", path, status)
		}
	}
	_, _, token := page(t, c, srv.URL, "/dashboard")
	for _, path := range []string{"/admin/config/billing.markup_percent", "/admin/tenant/mode"} {
		resp, _ := post(t, c, srv.URL, path, url.Values{"csrf": {token}, "value": {"20"}, "mode": {"LIVE"}, "confirm": {"global"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s answers a user %d", path, resp.StatusCode)
		}
	}
	if v := p.Params.Snapshot().Float("", mode.Sandbox, "billing.markup_percent"); v != 15 {
		t.Errorf("a user's post changed the markup to %v", v)
	}
}

// TestAParameterIsEditedWithTheToolsValidationAndTheLIVEConfirmation is
// Journey 4 over HTTP: the list shows every parameter with the modes it
// affects and finds one by a word; a wrong value is refused beside the
// field with the tool's message and nothing is saved; a value LIVE mode
// reads asks for the phrase the tool names, refuses another, and saves
// with it; the history then shows the change; a secret is entered
// write-only and never shown; a stored value is removed with its phrase.
func TestAParameterIsEditedWithTheToolsValidationAndTheLIVEConfirmation(t *testing.T) {
	srv, p := serverOf(t)
	c := adminIn(t, srv, p, "ada@example.com")
	const key = "billing.markup_percent"
	markup := func() float64 { return p.Params.Snapshot().Float("", mode.Sandbox, key) }

	status, body, token := page(t, c, srv.URL, "/admin/config")
	if status != http.StatusOK {
		t.Fatalf("the configuration page: %d", status)
	}
	for _, want := range []string{`data-param="` + key + `"`, `data-param="sandbox.provision_delay"`, `class="mode mode-LIVE"`, `class="mode mode-SANDBOX"`,
		`href="/admin/config/export"`, `enctype="multipart/form-data"`, `aria-current="page">Configuration`} {
		if !strings.Contains(body, want) {
			t.Errorf("the configuration page lacks %s", want)
		}
	}
	_, body, _ = page(t, c, srv.URL, "/admin/config?q=MARKUP")
	if !strings.Contains(body, `data-param="`+key+`"`) || strings.Contains(body, `data-param="sandbox.provision_delay"`) {
		t.Error("searching markup does not find only the markups")
	}
	_, body, _ = page(t, c, srv.URL, "/admin/config?section=stripe")
	if !strings.Contains(body, `data-param="stripe.secret_key"`) || strings.Contains(body, `data-param="`+key+`"`) {
		t.Error("the stripe section holds more or less than stripe's parameters")
	}

	edit := func(form url.Values) (*http.Response, string) {
		t.Helper()
		form.Set("csrf", token)
		return post(t, c, srv.URL, "/admin/config/"+key, form)
	}
	t.Run("a wrong value is refused beside the field and nothing is saved", func(t *testing.T) {
		resp, body := edit(url.Values{"value": {"900"}, "tenant": {""}, "mode": {""}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorOf(body, "value"), "500") {
			t.Fatalf("900%%: %d, the field says %q", resp.StatusCode, errorOf(body, "value"))
		}
		if !strings.Contains(body, `value="900"`) || strings.Contains(body, `id="confirm"`) || markup() != 15 {
			t.Error("the refused value is not kept in the form, or a confirmation is asked, or it was saved")
		}
		resp, body = edit(url.Values{"value": {"12"}, "tenant": {""}, "mode": {"bogus"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || errorOf(body, "mode") == "" {
			t.Errorf("a bogus mode: %d, the field says %q", resp.StatusCode, errorOf(body, "mode"))
		}
	})
	t.Run("a value LIVE reads asks for the phrase and saves nothing without it", func(t *testing.T) {
		resp, body := edit(url.Values{"value": {"12"}, "tenant": {""}, "mode": {""}})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="confirm"`) || !strings.Contains(body, "Type <code>global</code> to confirm") {
			t.Fatalf("no confirmation asked: %d", resp.StatusCode)
		}
		if !strings.Contains(body, `value="12"`) || markup() != 15 {
			t.Error("the value entered is lost, or it was saved unconfirmed")
		}
		resp, body = edit(url.Values{"value": {"12"}, "tenant": {""}, "mode": {""}, "confirm": {"yes"}})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(errorOf(body, "confirm"), "That is not global") || markup() != 15 {
			t.Errorf("a wrong phrase: %d, %q, markup %v", resp.StatusCode, errorOf(body, "confirm"), markup())
		}
	})
	t.Run("with the phrase it is saved and its history shows it", func(t *testing.T) {
		resp, _ := edit(url.Values{"value": {"12"}, "tenant": {""}, "mode": {""}, "confirm": {"global"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/config/"+key+"?saved=1#history" || markup() != 12 {
			t.Fatalf("confirmed: %d → %s, markup %v", resp.StatusCode, resp.Header.Get("Location"), markup())
		}
		_, body, _ := page(t, c, srv.URL, "/admin/config/"+key+"?saved=1")
		row := regexp.MustCompile(`(?s)<tr data-change="\d+">.*?</tr>`).FindString(body)
		if !strings.Contains(body, `id="done"`) || !strings.Contains(row, "<td>set</td>") || !strings.Contains(row, ">unset</span>") || !strings.Contains(row, ">12</code>") {
			t.Errorf("the history's newest row: %s", row)
		}
	})
	t.Run("a SANDBOX-only value needs no phrase", func(t *testing.T) {
		resp, _ := post(t, c, srv.URL, "/admin/config/sandbox.failure_rate", url.Values{"csrf": {token}, "value": {"0.5"}, "tenant": {"default"}, "mode": {"SANDBOX"}})
		if resp.StatusCode != http.StatusSeeOther || p.Params.Snapshot().Float("default", mode.Sandbox, "sandbox.failure_rate") != 0.5 {
			t.Errorf("a SANDBOX value: %d", resp.StatusCode)
		}
	})
	t.Run("a secret is entered write-only and never shown", func(t *testing.T) {
		const secret = "sk_test_51quietharbor"
		_, body, _ := page(t, c, srv.URL, "/admin/config/stripe.secret_key")
		if !strings.Contains(body, `name="value" type="password" autocomplete="new-password"`) {
			t.Fatal("the secret's field is not a password field")
		}
		resp, _ := post(t, c, srv.URL, "/admin/config/stripe.secret_key", url.Values{"csrf": {token}, "value": {secret}, "tenant": {"default"}, "mode": {"SANDBOX"}})
		if resp.StatusCode != http.StatusSeeOther || p.Params.Snapshot().String("default", mode.Sandbox, "stripe.secret_key") != secret {
			t.Fatalf("saving a secret: %d", resp.StatusCode)
		}
		resp, body = post(t, c, srv.URL, "/admin/config/stripe.secret_key", url.Values{"csrf": {token}, "value": {"sk_live_51quietharbor"}, "tenant": {"default"}, "mode": {"SANDBOX"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || errorOf(body, "value") == "" || strings.Contains(body, "sk_live_51quietharbor") {
			t.Errorf("a live key for SANDBOX: %d, the field says %q, echoed %v", resp.StatusCode, errorOf(body, "value"), strings.Contains(body, "sk_live_51"))
		}
		_, body, _ = page(t, c, srv.URL, "/admin/config/stripe.secret_key")
		if strings.Contains(body, secret) || !strings.Contains(body, params.Redacted) {
			t.Error("the secret's page shows it, or not as redacted")
		}
	})
	t.Run("a stored value LIVE reads is removed with its phrase", func(t *testing.T) {
		form := url.Values{"csrf": {token}, "tenant": {""}, "mode": {""}}
		resp, body := post(t, c, srv.URL, "/admin/config/"+key+"/remove", form)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="remove-confirm"`) || markup() != 12 {
			t.Fatalf("an unconfirmed removal: %d, markup %v", resp.StatusCode, markup())
		}
		form.Set("confirm", "global")
		resp, _ = post(t, c, srv.URL, "/admin/config/"+key+"/remove", form)
		if resp.StatusCode != http.StatusSeeOther || markup() != 15 {
			t.Errorf("a confirmed removal: %d, markup %v", resp.StatusCode, markup())
		}
		resp, body = post(t, c, srv.URL, "/admin/config/"+key+"/remove", form)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Nothing is stored there") {
			t.Errorf("removing it again: %d\n%s", resp.StatusCode, body)
		}
	})
	t.Run("an unknown key or a form without its token", func(t *testing.T) {
		if status, _, _ := page(t, c, srv.URL, "/admin/config/no.such_key"); status != http.StatusNotFound {
			t.Errorf("an unknown key: %d", status)
		}
		resp, _ := post(t, c, srv.URL, "/admin/config/"+key, url.Values{"value": {"20"}, "confirm": {"global"}})
		if resp.StatusCode != http.StatusForbidden || markup() != 15 {
			t.Errorf("no token: %d, markup %v", resp.StatusCode, markup())
		}
	})
}

// upload posts an import file (multipart, as the page's form does).
func upload(t *testing.T, c *http.Client, base, token, name, content string) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("csrf", token)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	resp, err := c.Post(base+"/admin/config/import", mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestParametersAreExportedAndImportedAllOrNothing: the export downloads
// as a JSON file; an import is previewed first, with each change or each
// problem; a file with problems applies nothing; a good one applies,
// after the phrase when LIVE reads its values.
func TestParametersAreExportedAndImportedAllOrNothing(t *testing.T) {
	srv, p := serverOf(t)
	c := adminIn(t, srv, p, "ada@example.com")
	_, _, token := page(t, c, srv.URL, "/admin/config")
	markup := func() float64 { return p.Params.Snapshot().Float("", mode.Sandbox, "billing.markup_percent") }

	resp, err := c.Get(srv.URL + "/admin/config/export")
	if err != nil {
		t.Fatal(err)
	}
	var f params.File
	err = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		!regexp.MustCompile(`^attachment; filename="gpubroker-params-\d{8}-\d{6}\.json"$`).MatchString(resp.Header.Get("Content-Disposition")) {
		t.Fatalf("the export: %d %s %q, %v", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), err)
	}
	if f.Format != params.FileFormat || len(f.Params) == 0 {
		t.Fatalf("the export file: %+v", f)
	}

	bad := `{"format":"gpubroker-params","version":1,"exported_at":"2026-11-24T00:00:00Z","params":[
  {"key":"billing.markup_percent","value":"40"},
  {"key":"billing.currency","value":"btc"},
  {"key":"no.such_key","value":"1"}
]}`
	resp, body := upload(t, c, srv.URL, token, "bad.json", bad)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Nothing was applied") ||
		!strings.Contains(body, "<code>params[1].value</code>") || !strings.Contains(body, "<code>params[2].key</code>") || strings.Contains(body, `id="apply"`) {
		t.Fatalf("a bad file: %d\n%s", resp.StatusCode, body)
	}
	if markup() != 15 {
		t.Fatal("a bad file applied its good entry")
	}
	resp, body = upload(t, c, srv.URL, token, "notes.txt", "markup = 40")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "The file is not JSON") {
		t.Errorf("a file that is not JSON: %d", resp.StatusCode)
	}

	good := `{"format":"gpubroker-params","version":1,"exported_at":"2026-11-24T00:00:00Z","params":[
  {"key":"billing.markup_percent","value":"40"},
  {"tenant":"default","mode":"SANDBOX","key":"sandbox.failure_rate","value":"0.25"}
]}`
	resp, body = upload(t, c, srv.URL, token, "good.json", good)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="import-preview"`) || !strings.Contains(body, "billing.markup_percent at global/all: unset → &#34;40&#34;") ||
		!strings.Contains(body, `id="apply"`) {
		t.Fatalf("the preview of a good file: %d\n%s", resp.StatusCode, body)
	}
	if markup() != 15 {
		t.Fatal("the preview applied the file")
	}
	apply := url.Values{"csrf": {token}, "content": {good}, "apply": {"1"}, "name": {"good.json"}}
	resp, body = post(t, c, srv.URL, "/admin/config/import", apply)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Type <code>global</code> to confirm") || markup() != 15 {
		t.Fatalf("applying without the phrase: %d, markup %v", resp.StatusCode, markup())
	}
	apply.Set("confirm", "global")
	resp, _ = post(t, c, srv.URL, "/admin/config/import", apply)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/config?imported=2" || markup() != 40 ||
		p.Params.Snapshot().Float("default", mode.Sandbox, "sandbox.failure_rate") != 0.25 {
		t.Fatalf("applying with the phrase: %d → %s, markup %v", resp.StatusCode, resp.Header.Get("Location"), markup())
	}
	_, body, _ = page(t, c, srv.URL, "/admin/config?imported=2")
	if !strings.Contains(body, "The import applied 2 values") {
		t.Error("the configuration page does not say what the import applied")
	}
}
