package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestConfiguringAndDeployingAPodThroughThePages: the configure page
// prices its configuration at once; the estimate follows a change as
// JSON, and what the tools refuse comes back by field; a draft with a bad
// name is refused beside the field and nothing is saved; a good one is
// saved and shown with its cost and a Deploy button; deploying without
// the form's token is refused, with it the pod is pending; another
// person's pod is not found; a wrong activation token is refused on the
// pod's page.
func TestConfiguringAndDeployingAPodThroughThePages(t *testing.T) {
	srv := server(t)
	c := signedIn(t, srv, "cy@example.com")
	status, body, token := page(t, c, srv.URL, "/pods/new")
	if status != http.StatusOK || !regexp.MustCompile(`data-cost="hour">\$[0-9.]+<`).MatchString(body) {
		t.Fatalf("the configure page: %d\n%s", status, body)
	}

	estimate := func(q url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := c.Get(srv.URL + "/pods/estimate?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	cfg := url.Values{"gpu": {"L4-PCIE-24GB"}, "gpu_count": {"1"}, "provider": {"auto"}, "vcpu": {"4"}, "ram_gib": {"16"}, "disk_gib": {"50"},
		"image": {"cuda-12.4-base"}, "pricing": {"on_demand"}}
	code, out := estimate(cfg)
	shown, _ := out["shown"].(map[string]any)
	if code != http.StatusOK || !strings.HasPrefix(shown["hour"].(string), "$") || !strings.HasPrefix(shown["month"].(string), "$") {
		t.Fatalf("an estimate: %d %v", code, out)
	}
	if lim, _ := out["limits"].(map[string]any); lim["vcpu"] == nil {
		t.Fatalf("an estimate without limits: %v", out)
	}
	bad := url.Values{}
	for k, v := range cfg {
		bad[k] = v
	}
	bad.Set("vcpu", "5000")
	bad.Set("provider", "lambda")
	code, out = estimate(bad)
	if errs, _ := out["errors"].(map[string]any); code != http.StatusBadRequest || !strings.Contains(errs["vcpu"].(string), "lambda sells") {
		t.Fatalf("an estimate beyond lambda: %d %v", code, out)
	}
	bad.Set("vcpu", "four")
	if code, out = estimate(bad); code != http.StatusBadRequest || out["errors"].(map[string]any)["vcpu"] != "want a whole number" {
		t.Fatalf("a vCPU that is not a number: %d %v", code, out)
	}

	draft := url.Values{"csrf": {token}, "name": {"Not A Name"}}
	for k, v := range cfg {
		draft[k] = v
	}
	resp, body := post(t, c, srv.URL, "/pods/new", draft)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="name-error"`) || !strings.Contains(body, `value="Not A Name"`) {
		t.Fatalf("a bad name: %d", resp.StatusCode)
	}
	if _, body, _ := page(t, c, srv.URL, "/dashboard"); !strings.Contains(body, "No pods yet") {
		t.Fatal("a refused draft was saved")
	}
	draft.Set("name", "train")
	resp, _ = post(t, c, srv.URL, "/pods/new", draft)
	podPath := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(podPath, "/pods/") {
		t.Fatalf("saving the draft: %d to %q", resp.StatusCode, podPath)
	}
	status, body, token = page(t, c, srv.URL, podPath)
	if status != http.StatusOK || !strings.Contains(body, `action="`+podPath+`/deploy"`) || !regexp.MustCompile(`<dt>Per month \(30 days\)</dt><dd>\$`).MatchString(body) {
		t.Fatalf("the draft's page: %d\n%s", status, body)
	}

	if resp, _ := post(t, c, srv.URL, podPath+"/deploy", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("deploying without the form's token: %d", resp.StatusCode)
	}
	resp, _ = post(t, c, srv.URL, podPath+"/deploy", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != podPath {
		t.Fatalf("deploying: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body, token = page(t, c, srv.URL, podPath)
	if !strings.Contains(body, `data-pod-state="pending"`) || !strings.Contains(body, `aria-current="step">Pending</li>`) {
		t.Fatalf("the deployed pod's page:\n%s", body)
	}

	other := signedIn(t, srv, "dee@example.com")
	if status, _, _ := page(t, other, srv.URL, podPath); status != http.StatusNotFound {
		t.Fatalf("another person's pod: %d", status)
	}
	resp, body = post(t, c, srv.URL, podPath+"/activate", url.Values{"csrf": {token}, "token": {"not-the-token"}})
	if resp.StatusCode < 400 || !strings.Contains(body, `class="alert"`) {
		t.Fatalf("a wrong activation token: %d", resp.StatusCode)
	}
}
