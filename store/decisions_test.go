package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/store"
)

var _ decision.Repo = (*store.Store)(nil)

func newDecision(id, tenantID, task, tool string, cost money.Amount, status decision.Status, at time.Time) decision.Decision {
	return decision.Decision{ID: id, TenantID: tenantID, TaskID: task, Step: 1, Agent: 0, AdminID: "u-admin",
		Thoughts: []string{"the cheapest H100 is on lambda", "deploy it"}, Headline: "Deploy an H100 on lambda", Tool: tool,
		Args:    json.RawMessage(`{"gpu":"H100"}`),
		Preview: decision.Preview{Effect: "starts one H100 at 2.49 USD an hour", Cost: cost},
		Verdict: decision.Verdict{Allowed: true}, Status: status, Reply: `{"thoughts":["…"],"tool_name":"` + tool + `"}`,
		CreatedAt: at, UpdatedAt: at, Revision: 1}
}

// testDecisions: a decision round-trips and stays inside its tenant, lists
// by every filter newest first and in pages, and moves only as the table
// allows and on the revision read: of eight racing approvals exactly one
// lands and the others are conflicts naming the status it is in.
func testDecisions(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	ds := []decision.Decision{
		newDecision("dec_1", "acme", "task-1", "deploy_pod", 20*money.Dollar, decision.StatusAwaitingApproval, at),
		newDecision("dec_2", "acme", "task-1", "list_offers", 0, decision.StatusProposed, at.Add(time.Second)),
		newDecision("dec_3", "acme", "task-2", "deploy_pod", 5*money.Dollar, decision.StatusProposed, at.Add(2*time.Second)),
		newDecision("dec_4", "acme", "task-2", "terminate_pod", 0, decision.StatusAwaitingApproval, at.Add(3*time.Second)),
		newDecision("dec_5", "beta", "task-9", "deploy_pod", 50*money.Dollar, decision.StatusAwaitingApproval, at.Add(4*time.Second)),
	}
	ds[3].Preview.Destructive, ds[3].Verdict = true, decision.Verdict{Allowed: false, Rule: policies.RuleApproval, Reason: "destructive"}
	for _, d := range ds {
		if err := s.CreateDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, s.CreateDecision(ctx, ds[0]), fault.KindConflict)

	got, err := s.Decision(ctx, "acme", "dec_4")
	if err != nil || !reflect.DeepEqual(got, ds[3]) {
		t.Fatalf("round trip:\n got %+v %v\nwant %+v", got, err, ds[3])
	}
	_, err = s.Decision(ctx, "beta", "dec_1")
	wantKind(t, err, fault.KindNotFound)

	for _, c := range []struct {
		name string
		f    decision.Filter
		want []string
	}{
		{"a tenant's decisions come newest first", decision.Filter{TenantID: "acme"}, []string{"dec_4", "dec_3", "dec_2", "dec_1"}},
		{"by status", decision.Filter{TenantID: "acme", Status: decision.StatusAwaitingApproval}, []string{"dec_4", "dec_1"}},
		{"by tool", decision.Filter{TenantID: "acme", Tool: "deploy_pod"}, []string{"dec_3", "dec_1"}},
		{"by task", decision.Filter{TenantID: "acme", TaskID: "task-1"}, []string{"dec_2", "dec_1"}},
		{"by least cost", decision.Filter{TenantID: "acme", MinCost: 5 * money.Dollar}, []string{"dec_3", "dec_1"}},
		{"a first page", decision.Filter{TenantID: "acme", Limit: 2}, []string{"dec_4", "dec_3"}},
		{"the page after it", decision.Filter{TenantID: "acme", Limit: 2, After: "dec_3"}, []string{"dec_2", "dec_1"}},
		{"past the last page", decision.Filter{TenantID: "acme", Limit: 2, After: "dec_1"}, []string{}},
		{"another tenant's", decision.Filter{TenantID: "beta"}, []string{"dec_5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			list, err := s.ListDecisions(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, d := range list {
				ids = append(ids, d.ID)
			}
			if !reflect.DeepEqual(ids, c.want) {
				t.Fatalf("got %v, want %v", ids, c.want)
			}
		})
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	var conflicts []string
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.MoveDecision(ctx, decision.Change{ID: "dec_1", TenantID: "acme", Revision: 1,
				From: decision.StatusAwaitingApproval, To: decision.StatusApproved, At: at.Add(time.Minute), DecidedBy: fmt.Sprintf("u-%d", i)})
			mu.Lock()
			defer mu.Unlock()
			switch fault.KindOf(err) {
			case "":
				won++
			case fault.KindConflict:
				conflicts = append(conflicts, err.Error())
			default:
				t.Errorf("approve: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || len(conflicts) != 7 {
		t.Fatalf("%d approvals landed, %d conflicted; want 1 and 7", won, len(conflicts))
	}
	for _, msg := range conflicts {
		if !strings.Contains(msg, "approved") {
			t.Errorf("conflict %q does not name the status", msg)
		}
	}

	// A stale revision in the right status is a conflict naming it too.
	_, err = s.MoveDecision(ctx, decision.Change{ID: "dec_1", TenantID: "acme", Revision: 1, From: decision.StatusApproved,
		To: decision.StatusExecuted, At: at})
	wantKind(t, err, fault.KindConflict)
	if !strings.Contains(err.Error(), "it is approved at revision 2") {
		t.Errorf("stale conflict %q", err)
	}
	done, err := s.MoveDecision(ctx, decision.Change{ID: "dec_1", TenantID: "acme", Revision: 2, From: decision.StatusApproved,
		To: decision.StatusExecuted, At: at.Add(2 * time.Minute), Result: json.RawMessage(`{"pod":"pod-1"}`)})
	if err != nil || done.Status != decision.StatusExecuted || done.Revision != 3 || string(done.Result) != `{"pod":"pod-1"}` ||
		!strings.HasPrefix(done.DecidedBy, "u-") || !done.UpdatedAt.Equal(at.Add(2*time.Minute)) || !done.CreatedAt.Equal(at) {
		t.Fatalf("execute: %+v %v", done, err)
	}
	_, err = s.MoveDecision(ctx, decision.Change{ID: "dec_1", TenantID: "acme", Revision: 3, From: decision.StatusExecuted,
		To: decision.StatusApproved, At: at})
	wantKind(t, err, fault.KindConflict) // the table forbids it
	_, err = s.MoveDecision(ctx, decision.Change{ID: "dec_1", TenantID: "beta", Revision: 3, From: decision.StatusExecuted,
		To: decision.StatusReverted, At: at})
	wantKind(t, err, fault.KindNotFound)

	// An override keeps the admin's replacement call.
	o := &decision.Override{Tool: "deploy_pod", Args: json.RawMessage(`{"gpu":"A100"}`), Reason: "cheaper"}
	over, err := s.MoveDecision(ctx, decision.Change{ID: "dec_4", TenantID: "acme", Revision: 1, From: decision.StatusAwaitingApproval,
		To: decision.StatusOverridden, At: at, DecidedBy: "u-admin", Override: o})
	if err != nil || !reflect.DeepEqual(over.Override, o) {
		t.Fatalf("override: %+v %v", over, err)
	}
}

// failing is a store whose audit log or outbox refuses to write, to see a
// half-done change roll back.
type failing struct {
	*store.Store
	audit, outbox bool
}

var errRefused = errors.New("refused")

func (f *failing) AppendAudit(ctx context.Context, r audit.Record) (int64, error) {
	if f.audit {
		return 0, errRefused
	}
	return f.Store.AppendAudit(ctx, r)
}

func (f *failing) Enqueue(ctx context.Context, es ...events.Event) error {
	if f.outbox {
		return errRefused
	}
	return f.Store.Enqueue(ctx, es...)
}

// TestADecisionAndItsEventCommitTogetherOrNotAtAll: a proposal whose event
// cannot be written leaves no decision; a move whose audit record cannot
// be written leaves neither the status change nor its event; a move that
// commits leaves all three, its event keyed by tenant.
func TestADecisionAndItsEventCommitTogetherOrNotAtAll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		s := open(t, b.URL)
		f := &failing{Store: s}
		at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		svc := decision.NewService(f, func() time.Time { return at })
		pending := func() []events.Event {
			t.Helper()
			es, err := s.PendingEvents(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			return es
		}

		f.outbox = true
		d := newDecision("", "acme", "task-1", "deploy_pod", 20*money.Dollar, "", time.Time{})
		if _, err := svc.Propose(ctx, d); !errors.Is(err, errRefused) {
			t.Fatalf("propose with the outbox down: %v", err)
		}
		if list, _ := s.ListDecisions(ctx, decision.Filter{TenantID: "acme"}); len(list) != 0 || len(pending()) != 0 {
			t.Fatalf("a failed proposal left %d decisions and %d events", len(list), len(pending()))
		}

		f.outbox = false
		cur, err := svc.Propose(ctx, d)
		if err != nil || cur.Status != decision.StatusProposed || !strings.HasPrefix(cur.ID, "dec_") || cur.Revision != 1 {
			t.Fatalf("propose: %+v %v", cur, err)
		}
		if es := pending(); len(es) != 1 || es[0].Type != decision.EventDecisionProposed || es[0].Key != "acme" || es[0].TenantID != "acme" {
			t.Fatalf("proposal events: %+v", es)
		}

		admin := actor.Actor{Kind: actor.KindUser, ID: "u-admin", TenantID: "acme", Role: actor.RolePodAdmin}
		f.audit = true
		if _, err := svc.Move(ctx, admin, cur, decision.StatusApproved, decision.Change{DecidedBy: "u-admin"}); !errors.Is(err, errRefused) {
			t.Fatalf("move with the audit log down: %v", err)
		}
		if got, _ := s.Decision(ctx, "acme", cur.ID); got.Status != decision.StatusProposed || got.Revision != 1 {
			t.Fatalf("a failed move left the decision %s at revision %d", got.Status, got.Revision)
		}
		if es := pending(); len(es) != 1 {
			t.Fatalf("a failed move left %d events", len(es))
		}

		f.audit = false
		moved, err := svc.Move(ctx, admin, cur, decision.StatusApproved, decision.Change{DecidedBy: "u-admin"})
		if err != nil || moved.Status != decision.StatusApproved || moved.DecidedBy != "u-admin" || moved.Revision != 2 {
			t.Fatalf("move: %+v %v", moved, err)
		}
		es := pending()
		if len(es) != 2 || es[1].Type != decision.EventDecisionApproved || es[1].Key != "acme" {
			t.Fatalf("move events: %+v", es)
		}
		var p decision.Moved
		if err := json.Unmarshal(es[1].Payload, &p); err != nil || p.Decision.ID != cur.ID || p.From != decision.StatusProposed ||
			p.Actor.ID != "u-admin" || p.Decision.Reply != "" {
			t.Fatalf("move payload %s: %v", es[1].Payload, err)
		}
		recs, err := s.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: string(decision.EventDecisionApproved)})
		if err != nil || len(recs) != 1 || recs[0].Face != audit.FaceAgent || recs[0].ApprovedBy != "u-admin" || recs[0].ApprovalID != cur.ID {
			t.Fatalf("audit: %+v %v", recs, err)
		}

		// Moving the revision read again is a conflict, and writes nothing.
		_, err = svc.Move(ctx, admin, cur, decision.StatusRejected, decision.Change{DecidedBy: "u-admin"})
		wantKind(t, err, fault.KindConflict)
		if len(pending()) != 2 {
			t.Fatal("a refused move wrote an event")
		}

		// The agent executes it in its own name.
		if _, err := svc.Move(ctx, actor.Actor{}, moved, decision.StatusExecuted, decision.Change{Result: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		recs, _ = s.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: string(decision.EventDecisionExecuted)})
		if len(recs) != 1 || recs[0].Actor.Kind != actor.KindAgent || recs[0].Actor.ID != "u-admin" {
			t.Fatalf("execute audit: %+v", recs)
		}
	})
}

// TestDecisionsSayWhoDecidedAndWhatUndidThem: a call the policy lets
// through is proposed and approved by the policy; an admin's approval
// names the admin; a revert must name the decision that undid it.
func TestDecisionsSayWhoDecidedAndWhatUndidThem(t *testing.T) {
	ctx := context.Background()
	s := dbtest.Open(t, "sqlite")
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	svc := decision.NewService(s, func() time.Time { return at })
	cheap, err := svc.Propose(ctx, newDecision("", "acme", "task-1", "deploy_pod", 2*money.Dollar, "", time.Time{}))
	if err != nil || cheap.Status != decision.StatusProposed {
		t.Fatalf("a cheap call: %+v %v", cheap, err)
	}
	approved, err := svc.Move(ctx, actor.Actor{}, cheap, decision.StatusApproved, decision.Change{})
	if err != nil || approved.DecidedBy != decision.DecidedByPolicy {
		t.Fatalf("approved by the agent: %+v %v", approved, err)
	}
	done, err := svc.Move(ctx, actor.Actor{}, approved, decision.StatusExecuted, decision.Change{Result: json.RawMessage(`{"pod":"pod-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Move(ctx, actor.Actor{}, done, decision.StatusReverted, decision.Change{})
	wantKind(t, err, fault.KindInvalid)

	undo := newDecision("", "acme", "task-1", "terminate_pod", 0, "", time.Time{})
	undo.Reverts = done.ID
	undo, err = svc.Propose(ctx, undo)
	if err != nil || undo.Reverts != done.ID {
		t.Fatalf("the compensating call: %+v %v", undo, err)
	}
	reverted, err := svc.Move(ctx, actor.Actor{}, done, decision.StatusReverted, decision.Change{RevertedBy: undo.ID})
	if err != nil || reverted.RevertedBy != undo.ID || reverted.DecidedBy != decision.DecidedByPolicy || string(reverted.Result) != `{"pod":"pod-1"}` {
		t.Fatalf("reverted: %+v %v", reverted, err)
	}

	costly, err := svc.Propose(ctx, newDecision("", "acme", "task-1", "deploy_pod", 11*money.Dollar, "", time.Time{}))
	if err != nil || costly.Status != decision.StatusProposed {
		t.Fatalf("a costly call: %+v %v", costly, err)
	}
	// It waits only as a held call, and keeps the verdict that held it.
	_, err = svc.Move(ctx, actor.Actor{}, costly, decision.StatusAwaitingApproval, decision.Change{})
	wantKind(t, err, fault.KindInvalid)
	held := decision.Verdict{Allowed: false, Rule: "approval", Reason: "over $10.00"}
	costly, err = svc.Move(ctx, actor.Actor{}, costly, decision.StatusAwaitingApproval, decision.Change{ApprovalID: "apr_1", Verdict: &held})
	if err != nil || costly.ApprovalID != "apr_1" || costly.Verdict != held {
		t.Fatalf("held: %+v %v", costly, err)
	}
	if got, _ := s.ListDecisions(ctx, decision.Filter{TenantID: "acme", Status: decision.StatusAwaitingApproval}); len(got) != 1 || got[0].ApprovalID != "apr_1" {
		t.Fatalf("waiting: %+v", got)
	}

	read, err := svc.Record(ctx, decision.Decision{TenantID: "acme", TaskID: "task-1", Tool: "list_offers", Status: decision.StatusExecuted,
		Result: json.RawMessage(`{"offers":[]}`)})
	if err != nil || !read.ReadOnly || read.DecidedBy != decision.DecidedByPolicy || read.Status != decision.StatusExecuted {
		t.Fatalf("a read: %+v %v", read, err)
	}
	if got, _ := s.Decision(ctx, "acme", read.ID); !got.ReadOnly || string(got.Result) != `{"offers":[]}` {
		t.Fatalf("the read as stored: %+v", got)
	}
	_, err = svc.Record(ctx, decision.Decision{TenantID: "acme", TaskID: "task-1", Tool: "list_offers", Status: decision.StatusApproved})
	wantKind(t, err, fault.KindInvalid)
	ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RolePodAdmin}
	_, err = svc.Move(ctx, ana, costly, decision.StatusOverridden, decision.Change{})
	wantKind(t, err, fault.KindInvalid) // an override names its call
	rejected, err := svc.Move(ctx, ana, costly, decision.StatusRejected, decision.Change{})
	if err != nil || rejected.DecidedBy != "u-ana" {
		t.Fatalf("rejected by an admin: %+v %v", rejected, err)
	}
}

// TestADecisionsDeliveryIsReadFromTheOutboxAndSlack: a decision's events
// are listed from the outbox in order, unpublished until the relay marks
// them, another decision's not among them (nor one whose id only starts
// the same), another tenant's not at all; its Slack message once posted.
func TestADecisionsDeliveryIsReadFromTheOutboxAndSlack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		s := open(t, b.URL)
		at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		svc := decision.NewService(s, func() time.Time { return at })
		d, err := svc.Propose(ctx, newDecision("", "acme", "task-1", "deploy_pod", 20*money.Dollar, "", time.Time{}))
		if err != nil {
			t.Fatal(err)
		}
		admin := actor.Actor{Kind: actor.KindUser, ID: "u-admin", TenantID: "acme", Role: actor.RolePodAdmin}
		if _, err := svc.Move(ctx, admin, d, decision.StatusApproved, decision.Change{DecidedBy: "u-admin"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Propose(ctx, newDecision("", "acme", "task-1", "stop_pod", 0, "", time.Time{})); err != nil {
			t.Fatal(err)
		}
		got, err := s.DecisionDelivery(ctx, "acme", d.ID)
		if err != nil || len(got.Events) != 2 || got.Events[0].Type != string(decision.EventDecisionProposed) ||
			got.Events[1].Type != string(decision.EventDecisionApproved) || got.Events[0].PublishedAt != nil || got.Slack != nil {
			t.Fatalf("before the relay: %+v %v", got, err)
		}
		if err := s.MarkPublished(ctx, []string{got.Events[0].ID}, at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.AddSlackMessage(ctx, "acme", d.ID, "C123", "1733216400.000100", 2, at.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err = s.DecisionDelivery(ctx, "acme", d.ID)
		if err != nil || got.Events[0].PublishedAt == nil || !got.Events[0].PublishedAt.Equal(at.Add(time.Second)) || got.Events[1].PublishedAt != nil ||
			got.Slack == nil || got.Slack.Channel != "C123" || got.Slack.Revision != 2 {
			t.Fatalf("after the relay and Slack: %+v %v", got, err)
		}
		if got, err := s.DecisionDelivery(ctx, "beta", d.ID); err != nil || len(got.Events) != 0 || got.Slack != nil {
			t.Fatalf("another tenant reads %+v %v", got, err)
		}
		if got, err := s.DecisionDelivery(ctx, "acme", d.ID[:len(d.ID)-2]); err != nil || len(got.Events) != 0 {
			t.Fatalf("a prefix of the id reads %+v %v", got, err)
		}
	})
}
