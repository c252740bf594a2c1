package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/platformtest"
)

// TestTheMailboxOverREST: in a SANDBOX tenant a user reads the mail sent
// to their own address and no one else's, a POD Admin reads every
// address's and narrows it; a LIVE tenant has no mailbox.
func TestTheMailboxOverREST(t *testing.T) {
	pt := platformtest.New(t, "sqlite")
	srv := httptest.NewServer(api.NewRouter(api.Deps{Health: pt.Store, Tools: pt.Registry, Auth: pt.Tokens}))
	t.Cleanup(srv.Close)
	p := &platform{srv: srv, st: pt.Store, params: pt.Params, audit: pt.Audit}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	pt.Person(t, "acme", platformtest.AcmeUser.ID, "ana@acme.test", "Ana", actor.RoleUser)
	pt.Person(t, "acme", platformtest.AcmePro.ID, "bo@acme.test", "Bo", actor.RoleProUser)
	send := func(tenantID, to string, kind mail.Kind, data any) {
		t.Helper()
		if err := pt.Store.InTx(ctx, func(ctx context.Context) error { return pt.Mail.Send(ctx, tenantID, to, kind, data) }); err != nil {
			t.Fatal(err)
		}
	}
	send("acme", "Ana@Acme.test", mail.KindActivation, mail.Activation{Name: "Ana", PodName: "train", PodID: "pod_1",
		GPU: "H100-SXM-80GB", GPUCount: 1, Link: "https://gpu.example/activate/pod_1?token=a", ExpiresAt: now.Add(time.Hour)})
	send("acme", "bo@acme.test", mail.KindInvoice, mail.Invoice{Name: "Bo", Number: "INV-1", Period: "May 2031", Total: "USD 10.00",
		Link: "https://gpu.example/invoices/INV-1"})
	send("beta", "cy@beta.test", mail.KindInvoice, mail.Invoice{Number: "INV-2", Link: "https://gpu.example/invoices/INV-2"})
	// What the delivery worker does with each event.
	pending, err := pt.Store.PendingEvents(ctx, 10)
	if err != nil || len(pending) != 3 {
		t.Fatalf("outbox %+v, %v", pending, err)
	}
	for _, e := range pending {
		var m mail.Message
		if err := json.Unmarshal(e.Payload, &m); err != nil {
			t.Fatal(err)
		}
		if err := pt.Mail.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	inbox := func(r reply) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, m := range r.body["messages"].([]any) {
			out = append(out, m.(map[string]any))
		}
		return out
	}
	r := p.do(t, "acme-user", "GET", "/api/v1/mailbox", "")
	if r.status != 200 {
		t.Fatalf("user: %d %v", r.status, r.body)
	}
	got := inbox(r)
	if len(got) != 1 || got[0]["to"] != "ana@acme.test" || got[0]["kind"] != "activation" || got[0]["delivered_at"] == nil ||
		got[0]["created_at"] == nil || !strings.Contains(got[0]["html"].(string), "train") || !strings.Contains(got[0]["text"].(string), "Ana") {
		t.Fatalf("the user's mailbox: %v", got)
	}
	links := got[0]["links"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["url"] != "https://gpu.example/activate/pod_1?token=a" {
		t.Fatalf("links %v", links)
	}
	if r := p.do(t, "acme-user", "GET", "/api/v1/mailbox?to=bo@acme.test", ""); r.status != 403 {
		t.Fatalf("a user reading another address: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-user", "GET", "/api/v1/mailbox?to=ANA@acme.test", ""); r.status != 200 || len(inbox(r)) != 1 {
		t.Fatalf("a user naming their own address: %d %v", r.status, r.body)
	}
	if r := p.do(t, "acme-pro", "GET", "/api/v1/mailbox", ""); r.status != 200 || len(inbox(r)) != 1 || inbox(r)[0]["to"] != "bo@acme.test" {
		t.Fatalf("another user's mailbox: %d %v", r.status, r.body)
	}

	if r := p.do(t, "acme-admin", "GET", "/api/v1/mailbox", ""); r.status != 200 || len(inbox(r)) != 2 ||
		inbox(r)[0]["kind"] != "invoice" || inbox(r)[1]["kind"] != "activation" {
		t.Fatalf("the admin's mailbox, newest first: %d %v", r.status, r.body)
	}
	for _, c := range []struct {
		query string
		want  int
	}{{"?to=bo@acme.test", 1}, {"?kind=activation", 1}, {"?kind=invoice&to=ana@acme.test", 0}, {"?limit=1", 1}} {
		if r := p.do(t, "acme-admin", "GET", "/api/v1/mailbox"+c.query, ""); r.status != 200 || len(r.body["messages"].([]any)) != c.want {
			t.Errorf("admin %s: %d %v; want %d messages", c.query, r.status, r.body, c.want)
		}
	}
	for _, c := range []struct{ query, field string }{{"?limit=201", "limit"}, {"?kind=newsletter", "kind"}} {
		if r := p.do(t, "acme-admin", "GET", "/api/v1/mailbox"+c.query, ""); r.status != 422 || field(r) != c.field {
			t.Errorf("admin %s: %d %v; want 422 on %s", c.query, r.status, r.body, c.field)
		}
	}

	// beta goes LIVE: its mail left for real inboxes, and there is no
	// mailbox to read.
	if _, err := pt.Store.SwitchTenantMode(ctx, "beta", mode.Sandbox, mode.Live,
		audit.Record{At: now, Actor: actor.System("test"), Action: "tenant.switch_mode", TenantID: "beta", Verdict: "allow"}); err != nil {
		t.Fatal(err)
	}
	if err := pt.Tenants.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	r = p.do(t, "beta-admin", "GET", "/api/v1/mailbox", "")
	if r.status != 409 || !strings.Contains(r.body["detail"].(string), "only in SANDBOX") {
		t.Fatalf("a LIVE tenant's mailbox: %d %v", r.status, r.body)
	}
}
