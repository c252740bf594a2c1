package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// TestTheAgentTellsItsAdmins: notify_admin previews who it would reach,
// writes the notice to the outbox for the notification worker, and is
// audited with its result; a malformed notice is refused, and a user may
// not call it.
func TestTheAgentTellsItsAdmins(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := p.Store.CreateUser(ctx, auth.User{ID: "u-ana", TenantID: "acme", Email: "ana@acme.test", Name: "Ana", Role: actor.RolePodAdmin,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	agent := actor.Actor{Kind: actor.KindAgent, ID: platformtest.AcmeAdmin.ID, TenantID: "acme", Role: actor.RolePodAdmin, Name: "procurement"}
	call := func(a actor.Actor, input string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: a, Face: audit.FaceAgent, Tool: tools.ToolNotifyAdmin, Input: []byte(input)})
	}
	const notice = `{"subject":"Budget nearly spent","message":"92% of the month's budget is spent.","severity":"warning"`

	res := call(agent, notice+`,"dry_run":true}`)
	if pv, ok := res.Output.(tools.Preview); res.Err != nil || !ok || !strings.Contains(pv.Effect, "email to its 1 POD Admins") ||
		!strings.Contains(pv.Effect, "Budget nearly spent") {
		t.Fatalf("preview: %+v", res)
	}
	res = call(agent, notice+`}`)
	out, ok := res.Output.(tools.Notified)
	if res.Err != nil || !ok || out.EventID == "" || len(out.Channels) != 1 || out.Channels[0] != notify.Email || out.Admins != 1 {
		t.Fatalf("notify_admin: %+v", res)
	}
	pending, err := p.Store.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var told notify.Notice
	for _, e := range pending {
		if e.ID == out.EventID && e.Type == notify.EventAdminNotified && e.TenantID == "acme" {
			if err := json.Unmarshal(e.Payload, &told); err != nil {
				t.Fatal(err)
			}
		}
	}
	if told.Subject != "Budget nearly spent" || told.Severity != notify.SeverityWarning || told.By.Kind != actor.KindAgent {
		t.Fatalf("the notice in the outbox: %+v", told)
	}

	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: tools.ToolNotifyAdmin})
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit = %d records, %v; want the dry run and the call", len(recs), err)
	}
	if r := recs[0]; r.Verdict != "allow" || r.Face != audit.FaceAgent || r.Actor.Kind != actor.KindAgent ||
		!strings.Contains(string(r.Result), out.EventID) || !strings.Contains(string(r.Input), "Budget nearly spent") {
		t.Fatalf("the call's audit record: %+v", r)
	}

	for _, in := range []string{`{"subject":"","message":"m"}`, `{"subject":"s","message":" "}`, `{"subject":"s","message":"m","severity":"panic"}`} {
		if res := call(agent, in); fault.KindOf(res.Err) != fault.KindInvalid {
			t.Errorf("%s: %+v", in, res)
		}
	}
	var ref *tools.Refusal
	if res := call(platformtest.AcmeUser, notice+`}`); !errors.As(res.Err, &ref) || ref.Verdict.Decision != policies.Deny {
		t.Fatalf("a user told the admins: %+v", res)
	}
}
