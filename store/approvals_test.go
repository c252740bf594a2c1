package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/store"
)

func pendingApproval(id string, now time.Time, requester actor.Actor) approval.Approval {
	return approval.Approval{ID: id, TenantID: "acme", Tool: "deploy_pod", Input: json.RawMessage(`{"gpu":"H100","key":"s3cret"}`),
		ShownInput: json.RawMessage(`{"gpu":"H100","key":"[redacted]"}`), Requester: requester, Face: "rest", RequestID: "req-1",
		Reason: "over the threshold", Preview: json.RawMessage(`{"effect":"deploy","cost_usd":9}`), Estimate: 9_000_000,
		State: approval.Pending, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

// testApprovals: an approval round-trips, is invisible to another tenant,
// is decided by exactly one of many concurrent admins, records its outcome
// once, and once expired can only be refused as gone.
func testApprovals(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser, Name: "ana"}
	a := pendingApproval("apr_one", now, user)
	if err := s.CreateApproval(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetApproval(ctx, "acme", "apr_one")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
	}
	if _, err := s.GetApproval(ctx, "beta", "apr_one"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("another tenant reading: %v; want not found", err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	won, conflicts := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			by := actor.Actor{Kind: actor.KindUser, ID: "admin-" + string(rune('a'+i)), TenantID: "acme", Role: actor.RolePodAdmin}
			_, err := s.DecideApproval(ctx, approval.Decision{ID: "apr_one", TenantID: "acme", To: approval.Executing, By: by, At: now.Add(time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case fault.KindOf(err) == fault.KindConflict:
				conflicts++
			default:
				t.Errorf("decide: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || conflicts != 7 {
		t.Fatalf("%d decisions won and %d conflicted; want exactly 1 and 7", won, conflicts)
	}
	if _, err := s.DecideApproval(ctx, approval.Decision{ID: "apr_one", TenantID: "beta", To: approval.Rejected, By: admin, At: now}); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("deciding from another tenant: %v; want not found", err)
	}
	done := approval.Outcome{ID: "apr_one", Result: json.RawMessage(`{"ok":true}`), At: now.Add(2 * time.Minute)}
	if err := s.FinishApproval(ctx, done); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishApproval(ctx, done); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("finishing twice: %v; want a conflict", err)
	}
	got, _ = s.GetApproval(ctx, "acme", "apr_one")
	if got.State != approval.Executed || string(got.Result) != `{"ok":true}` || got.DecidedBy == nil || got.DecidedAt == nil ||
		got.FinishedAt == nil || !got.FinishedAt.Equal(done.At) {
		t.Fatalf("executed approval: %+v", got)
	}

	late := pendingApproval("apr_late", now, user)
	if err := s.CreateApproval(ctx, late); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := s.DecideApproval(ctx, approval.Decision{ID: "apr_late", TenantID: "acme", To: approval.Executing, By: admin, At: now.Add(time.Hour)})
		if fault.KindOf(err) != fault.KindGone {
			t.Fatalf("deciding at the expiry: %v; want gone", err)
		}
	}
	if got, _ := s.GetApproval(ctx, "acme", "apr_late"); got.State != approval.Expired {
		t.Fatalf("expired approval reads %s", got.State)
	}
	if _, err := s.DecideApproval(ctx, approval.Decision{ID: "apr_none", TenantID: "acme", To: approval.Rejected, By: admin, At: now}); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("deciding an unknown id: %v; want not found", err)
	}

	other := pendingApproval("apr_other", now.Add(time.Second), actor.Actor{Kind: actor.KindAgent, ID: "agent", TenantID: "acme", Role: actor.RolePodAdmin})
	if err := s.CreateApproval(ctx, other); err != nil {
		t.Fatal(err)
	}
	ids := func(f approval.Filter) []string {
		list, err := s.ListApprovals(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    approval.Filter
		want []string
	}{
		{"all, newest first", approval.Filter{TenantID: "acme"}, []string{"apr_other", "apr_one", "apr_late"}},
		{"by state", approval.Filter{TenantID: "acme", State: approval.Pending}, []string{"apr_other"}},
		{"by requester", approval.Filter{TenantID: "acme", RequesterKind: actor.KindUser, RequesterID: "u-ana"}, []string{"apr_one", "apr_late"}},
		{"another tenant sees none", approval.Filter{TenantID: "beta"}, []string{}},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
