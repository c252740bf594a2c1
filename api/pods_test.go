package api_test

import (
	"strings"
	"testing"
)

// TestConfigureAPodOverREST: a user saves a draft on the best SANDBOX offer
// that fits, reads it, its history and a fresh quote; changes it on the
// revision read; another user cannot see it; a configuration no offer
// fits is answered field by field.
func TestConfigureAPodOverREST(t *testing.T) {
	p := newPlatform(t)
	cfg := `{"name":"train","gpu":"H100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":200,
		"image":"pytorch-2.5-cuda12.4","pricing":"on_demand"}`
	r := p.do(t, "acme-user", "POST", "/api/v1/pods", cfg)
	if r.status != 201 {
		t.Fatalf("configure: %d %v", r.status, r.body)
	}
	pod := r.body["pod"].(map[string]any)
	est := r.body["estimate"].(map[string]any)
	id := pod["id"].(string)
	if pod["state"] != "draft" || pod["owner_id"] != "acme-user" || pod["offer_id"] == "" || pod["revision"] != float64(1) ||
		est["hour"] == "" || est["month"] == "" || est["offer_id"] != pod["offer_id"] {
		t.Fatalf("draft %v, estimate %v", pod, est)
	}

	if r := p.do(t, "acme-user", "GET", "/api/v1/pods/"+id, ""); r.status != 200 || r.body["id"] != id {
		t.Fatalf("get: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-user", "GET", "/api/v1/pods", ""); r.status != 200 || len(r.body["pods"].([]any)) != 1 {
		t.Fatalf("list: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-user", "GET", "/api/v1/pods/"+id+"/events", ""); r.status != 200 || len(r.body["events"].([]any)) != 1 {
		t.Fatalf("events: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-user", "GET", "/api/v1/pods/"+id+"/quote", ""); r.status != 200 || r.body["current"] == nil || r.body["best"] == nil {
		t.Fatalf("quote: %d %v", r.status, r.body)
	}

	// Another user of the tenant, or another tenant's admin: not found,
	// never forbidden. The tenant's admin sees it.
	for _, path := range []string{"/api/v1/pods/" + id, "/api/v1/pods/" + id + "/events", "/api/v1/pods/" + id + "/quote"} {
		if r := p.do(t, "acme-admin", "GET", path, ""); r.status != 200 {
			t.Fatalf("admin %s: %d", path, r.status)
		}
		for _, other := range []string{"acme-pro", "beta-admin"} {
			if r := p.do(t, other, "GET", path, ""); r.status != 404 || strings.Contains(r.body["detail"].(string), "another user") {
				t.Fatalf("%s %s: %d %v; want a plain 404", other, path, r.status, r.body)
			}
		}
	}
	if r := p.do(t, "acme-pro", "GET", "/api/v1/pods", ""); r.status != 200 || len(r.body["pods"].([]any)) != 0 {
		t.Fatalf("another user's list: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-pro", "POST", "/api/v1/pods", strings.Replace(cfg, `"vcpu":8`, `"vcpu":8,"id":"`+id+`","revision":1`, 1)); r.status != 404 {
		t.Fatalf("another user changing the draft: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-admin", "GET", "/api/v1/pods", ""); r.status != 200 || len(r.body["pods"].([]any)) != 1 {
		t.Fatalf("admin list: %d %v", r.status, r.body)
	}

	edit := strings.Replace(cfg, `"vcpu":8`, `"vcpu":12,"id":"`+id+`","revision":1`, 1)
	if r := p.do(t, "acme-user", "POST", "/api/v1/pods", edit); r.status != 201 || r.body["pod"].(map[string]any)["revision"] != float64(2) {
		t.Fatalf("change: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-user", "POST", "/api/v1/pods", edit); r.status != 409 {
		t.Fatalf("change on a stale revision: %d %v", r.status, r.body)
	}
	// The same change at the draft's own route.
	patch := strings.Replace(cfg, `"vcpu":8`, `"vcpu":16,"revision":2`, 1)
	if r := p.do(t, "acme-user", "PATCH", "/api/v1/pods/"+id, patch); r.status != 200 || r.body["pod"].(map[string]any)["vcpu"] != float64(16) {
		t.Fatalf("PATCH: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-pro", "PATCH", "/api/v1/pods/"+id, strings.Replace(patch, `"revision":2`, `"revision":3`, 1)); r.status != 404 {
		t.Fatalf("another user's PATCH: %d %v", r.status, r.body)
	}

	for _, c := range []struct {
		name, body, field string
		status            int
	}{
		{"a GPU count nobody sells", strings.Replace(cfg, `"gpu_count":1`, `"gpu_count":3`, 1), "gpu_count", 422},
		{"an unknown image", strings.Replace(cfg, "pytorch-2.5-cuda12.4", "windows-11", 1), "image", 422},
		{"an unknown offer", strings.Replace(cfg, `"provider":"auto"`, `"provider":"auto","offer_id":"nope"`, 1), "offer_id", 422},
		{"a change without the revision", strings.Replace(cfg, `"vcpu":8`, `"vcpu":8,"id":"`+id+`"`, 1), "revision", 422},
	} {
		if r := p.do(t, "acme-user", "POST", "/api/v1/pods", c.body); r.status != c.status || field(r) != c.field {
			t.Errorf("%s: %d %v; want %d on %s", c.name, r.status, r.body, c.status, c.field)
		}
	}
}
