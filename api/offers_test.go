package api_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/platformtest"
)

func TestOffersThroughREST(t *testing.T) {
	pf := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pf.Store, Tools: pf.Registry, Auth: pf.Tokens}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pf.Store, params: pf.Params, audit: pf.Audit}

	t.Run("ranked H100 offers page with a cursor that never repeats or skips", func(t *testing.T) {
		seen := map[string]bool{}
		path := "/api/v1/offers?gpu=H100-SXM-80GB&sort=topsis&limit=4"
		total, pages := -1, 0
		last := 2.0
		for path != "" {
			r := p.do(t, "acme-user", "GET", path, "")
			if r.status != 200 {
				t.Fatalf("%s: %d %v", path, r.status, r.body)
			}
			pages++
			total = int(r.body["total"].(float64))
			for _, o := range r.body["offers"].([]any) {
				m := o.(map[string]any)
				id := m["id"].(string)
				if seen[id] {
					t.Fatalf("offer %s served twice", id)
				}
				seen[id] = true
				if m["gpu"] != "H100-SXM-80GB" {
					t.Fatalf("filter let through %v", m["gpu"])
				}
				score := m["score"].(float64)
				if score > last {
					t.Fatalf("scores rise: %v after %v", score, last)
				}
				last = score
			}
			path = ""
			if next, _ := r.body["next_cursor"].(string); next != "" {
				path = "/api/v1/offers?gpu=H100-SXM-80GB&sort=topsis&limit=4&cursor=" + url.QueryEscape(next)
			}
		}
		if len(seen) != total || total < 8 || pages < 2 {
			t.Fatalf("saw %d offers in %d pages; total %d", len(seen), pages, total)
		}
	})
	t.Run("an unknown filter value is a 400 listing the valid values", func(t *testing.T) {
		for _, q := range []string{"gpu=H900", "sort=cheapest", "availability=maybe", "provider=acme", "pricing=free", "weights=speed=1"} {
			r := p.do(t, "acme-user", "GET", "/api/v1/offers?"+q, "")
			if r.status != 400 {
				t.Fatalf("%s: %d %v", q, r.status, r.body)
			}
			name := strings.SplitN(q, "=", 2)[0]
			if field(r) != name {
				t.Fatalf("%s: problem names %q", q, field(r))
			}
			if name != "weights" && !strings.Contains(problemText(r), "valid values") {
				t.Fatalf("%s: %v", q, r.body)
			}
		}
		if r := p.do(t, "acme-user", "GET", "/api/v1/offers?colour=red", ""); r.status != 400 {
			t.Fatalf("unknown query parameter: %d", r.status)
		}
	})
	var ids []string
	t.Run("one offer shows its worth; an unknown id is a 404", func(t *testing.T) {
		r := p.do(t, "acme-user", "GET", "/api/v1/offers?gpu=A100-SXM-80GB&limit=3", "")
		for _, o := range r.body["offers"].([]any) {
			ids = append(ids, o.(map[string]any)["id"].(string))
		}
		if len(ids) < 2 {
			t.Fatalf("few A100 offers: %v", r.body)
		}
		r = p.do(t, "acme-user", "GET", "/api/v1/offers/"+ids[0], "")
		if r.status != 200 || r.body["tflops"].(float64) <= 0 || r.body["model"] == nil || r.body["provider_name"] == "" {
			t.Fatalf("get_offer: %d %v", r.status, r.body)
		}
		if r := p.do(t, "acme-user", "GET", "/api/v1/offers/nope-123", ""); r.status != 404 {
			t.Fatalf("unknown offer: %d", r.status)
		}
	})
	t.Run("offers compare side by side", func(t *testing.T) {
		r := p.do(t, "acme-user", "GET", "/api/v1/offers/compare?ids="+strings.Join(ids, ","), "")
		if r.status != 200 || len(r.body["offers"].([]any)) != len(ids) || r.body["best"].(map[string]any)["price"] == nil {
			t.Fatalf("compare: %d %v", r.status, r.body)
		}
		if r := p.do(t, "acme-user", "GET", "/api/v1/offers/compare?ids="+ids[0], ""); r.status != 422 {
			t.Fatalf("one id: %d", r.status)
		}
	})
	t.Run("every supported provider is listed with its health", func(t *testing.T) {
		r := p.do(t, "acme-user", "GET", "/api/v1/providers", "")
		list := r.body["providers"].([]any)
		active := 0
		for _, x := range list {
			m := x.(map[string]any)
			if m["active"] == true {
				active++
				if m["status"] != "healthy" || m["breaker"] != "closed" {
					t.Fatalf("simulated provider unhealthy: %v", m)
				}
			}
		}
		if r.status != 200 || len(list) < 22 || active < 15 || r.body["mode"] != "SANDBOX" {
			t.Fatalf("providers: %d, %d listed, %d active", r.status, len(list), active)
		}
	})
	t.Run("price history comes from stored snapshots", func(t *testing.T) {
		r := p.do(t, "acme-user", "GET", "/api/v1/prices?offer_id="+ids[0], "")
		if r.status != 200 || len(r.body["points"].([]any)) == 0 || r.body["latest"].(float64) <= 0 {
			t.Fatalf("price_history: %d %v", r.status, r.body)
		}
		if r := p.do(t, "acme-user", "GET", "/api/v1/prices", ""); r.status != 422 {
			t.Fatalf("no offer and no gpu: %d %v", r.status, r.body)
		}
	})
}

// problemText joins a problem's detail and field messages.
func problemText(r reply) string {
	s, _ := r.body["detail"].(string)
	if errs, ok := r.body["errors"].([]any); ok {
		for _, e := range errs {
			m, _ := e.(map[string]any)["message"].(string)
			s += " " + m
		}
	}
	return s
}
