package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBrowsingFiltersSortsAndPagesTheOffers: the browse page lists the
// catalogue with its filters; a GPU filter keeps only that GPU, cheapest
// first; pages follow by cursor to the end, each offer once, with a link
// back to the first; each row leads to the offer and to configuring a
// pod on it; a value the tool refuses is shown beside its field with the
// tool's words, and a number that is not one is refused here.
func TestBrowsingFiltersSortsAndPagesTheOffers(t *testing.T) {
	srv := server(t)
	if resp, _ := get(t, srv, "/offers"); resp.Request.URL.Path != "/signin" {
		t.Fatalf("a visitor browsing lands on %s", resp.Request.URL)
	}
	c := signedIn(t, srv, "bo@example.com")
	get := func(t *testing.T, _ any, path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get(t, srv, "/offers")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{`<form method="get" action="/offers" class="filters"`, `<label for="gpu">GPU</label>`, `<option value="lambda">Lambda</option>`,
		`<option value="topsis">Best value (TOPSIS)</option>`, `rel="next"`, `href="/pods/new?offer=`, `aria-current="page">Browse</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the browse page lacks %s", want)
		}
	}
	if !strings.Contains(body, `src="/static/browse.js"`) || !strings.Contains(body, `data-live-prices`) {
		t.Error("the browse page does not follow the prices live")
	}

	row := regexp.MustCompile(`<tr data-offer="([^"]+)">\s*<th scope="row">(\d+) × ([^<]+)</th>`)
	price := regexp.MustCompile(`data-price>\$([0-9.,]+)/h<`)
	seen := map[string]bool{}
	path := "/offers?gpu=A100-SXM-80GB&sort=price"
	for pages := 0; path != ""; pages++ {
		if pages > 20 {
			t.Fatal("the pages never end")
		}
		resp, body := get(t, srv, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		rows := row.FindAllStringSubmatch(body, -1)
		prices := price.FindAllStringSubmatch(body, -1)
		if len(rows) == 0 || len(rows) != len(prices) {
			t.Fatalf("%s: %d rows, %d prices", path, len(rows), len(prices))
		}
		last := 0.0
		for i, r := range rows {
			if r[3] != "A100-SXM-80GB" {
				t.Fatalf("the A100 filter shows %s", r[3])
			}
			if seen[r[1]] {
				t.Fatalf("offer %s shown twice", r[1])
			}
			seen[r[1]] = true
			p, err := strconv.ParseFloat(strings.ReplaceAll(prices[i][1], ",", ""), 64)
			if err != nil || p < last {
				t.Fatalf("not cheapest first: %s after %v", prices[i][1], last)
			}
			last = p
		}
		if pages > 0 && !strings.Contains(body, `href="/offers?gpu=A100-SXM-80GB&amp;sort=price">First page</a>`) {
			t.Errorf("page %d has no way back to the first", pages+1)
		}
		path = ""
		if m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) < 2 {
		t.Fatalf("%d A100 offers in all", len(seen))
	}

	for _, c := range []struct{ query, field, want string }{
		{"gpu=H200-NVL", "gpu", "unknown"},
		{"gpu_count=two", "gpu_count", "want a whole number"},
		{"max_price=cheap", "max_price", "want an amount in USD"},
	} {
		resp, body := get(t, srv, "/offers?"+c.query)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", c.query, resp.StatusCode)
		}
		m := regexp.MustCompile(`<p class="error" id="` + c.field + `-error">([^<]+)</p>`).FindStringSubmatch(body)
		if m == nil || !strings.Contains(m[1], c.want) {
			t.Errorf("%s: the %s field says %v; want %q", c.query, c.field, m, c.want)
		}
	}
	resp, body = get(t, srv, "/offers?"+url.Values{"cursor": {"not-a-cursor"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="alert"`) {
		t.Errorf("a bad cursor: %d", resp.StatusCode)
	}
}

// signedIn answers a client holding the session of a new person, email,
// registered through the pages (confirmed at once in SANDBOX).
func signedIn(t *testing.T, srv *httptest.Server, email string) *http.Client {
	t.Helper()
	c := browserClient(t)
	_, _, token := page(t, c, srv.URL, "/register")
	resp, _ := post(t, c, srv.URL, "/register", url.Values{"csrf": {token}, "name": {"Bo"}, "email": {email}, "password": {"quiet-harbor-lantern-42"}})
	if resp.StatusCode != http.StatusSeeOther || cookie(c, srv.URL, "gb_session") == nil {
		t.Fatalf("registering %s: %d", email, resp.StatusCode)
	}
	return c
}
