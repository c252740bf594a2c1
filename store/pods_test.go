package store_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
)

func draftPod(id, owner string, at time.Time) pods.Pod {
	return pods.Pod{ID: id, TenantID: "acme", OwnerID: owner, State: pods.Draft, PriceHour: money.MustParse("2.49"),
		Config: pods.Config{Name: "train-" + id, GPU: "H100-SXM-80GB", GPUCount: 1, Provider: pods.Auto, OfferID: "lambda-abc",
			Region: "us-east-1", VCPU: 26, RAMGiB: 200, DiskGiB: 512, Image: "pytorch-2.5-cuda12.4", Pricing: pods.OnDemand},
		CreatedAt: at, UpdatedAt: at}
}

// testPods: a pod round-trips, stays inside its tenant, changes only on
// the revision the caller read (of eight racing stops exactly one lands),
// refuses the moves the table forbids, and keeps every transition with
// its actor as its history.
func testPods(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser}
	p := draftPod("pod-1", "u-ana", at)
	if err := s.CreatePod(ctx, p, pods.Transition{At: at, Reason: "configured", Actor: ana}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.CreatePod(ctx, p, pods.Transition{At: at, Actor: ana}), fault.KindConflict)
	got, err := s.GetPod(ctx, "acme", "pod-1")
	p.Revision = 1
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip:\n got %+v %v\nwant %+v", got, err, p)
	}
	_, err = s.GetPod(ctx, "beta", "pod-1")
	wantKind(t, err, fault.KindNotFound)

	// A draft's configuration changes on its revision only.
	edit := got
	edit.GPUCount, edit.UpdatedAt = 2, at.Add(time.Second)
	edited, err := s.UpdatePodConfig(ctx, edit)
	if err != nil || edited.GPUCount != 2 || edited.Revision != 2 {
		t.Fatalf("update: %+v %v", edited, err)
	}
	_, err = s.UpdatePodConfig(ctx, edit) // revision 1 again
	wantKind(t, err, fault.KindConflict)

	// Deploy it through to running, naming the machine on the way.
	cur := edited
	for _, step := range []struct {
		to       pods.State
		instance string
	}{{pods.Pending, ""}, {pods.Provisioning, ""}, {pods.Ready, "i-0abc"}, {pods.Running, ""}} {
		cur, err = s.MovePod(ctx, pods.Change{PodID: "pod-1", TenantID: "acme", Revision: cur.Revision, From: cur.State, To: step.to,
			Actor: ana, At: at.Add(time.Minute), InstanceID: step.instance})
		if err != nil || cur.State != step.to {
			t.Fatalf("move to %s: %+v %v", step.to, cur, err)
		}
	}
	if cur.InstanceID != "i-0abc" || cur.Revision != 6 {
		t.Fatalf("running pod: %+v", cur)
	}
	_, err = s.UpdatePodConfig(ctx, cur)
	wantKind(t, err, fault.KindConflict) // only drafts are edited

	var wg sync.WaitGroup
	var mu sync.Mutex
	won, conflicts := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.MovePod(ctx, pods.Change{PodID: "pod-1", TenantID: "acme", Revision: cur.Revision, From: pods.Running, To: pods.Stopped,
				Actor: ana, At: at.Add(2 * time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch fault.KindOf(err) {
			case "":
				won++
			case fault.KindConflict:
				conflicts++
			default:
				t.Errorf("stop: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || conflicts != 7 {
		t.Fatalf("%d stops landed, %d conflicted; want 1 and 7", won, conflicts)
	}
	_, err = s.MovePod(ctx, pods.Change{PodID: "pod-1", TenantID: "acme", Revision: 7, From: pods.Stopped, To: pods.Provisioning, Actor: ana, At: at})
	wantKind(t, err, fault.KindConflict) // the table forbids it
	_, err = s.MovePod(ctx, pods.Change{PodID: "pod-1", TenantID: "beta", Revision: 7, From: pods.Stopped, To: pods.Running, Actor: ana, At: at})
	wantKind(t, err, fault.KindNotFound)

	hist, err := s.PodTransitions(ctx, "acme", "pod-1")
	if err != nil {
		t.Fatal(err)
	}
	var path []pods.State
	for i, h := range hist {
		if h.Seq != int64(i+1) || h.Actor != ana || (i > 0 && h.From != hist[i-1].To) {
			t.Fatalf("transition %d: %+v", i, h)
		}
		path = append(path, h.To)
	}
	want := []pods.State{pods.Draft, pods.Pending, pods.Provisioning, pods.Ready, pods.Running, pods.Stopped}
	if !reflect.DeepEqual(path, want) || hist[0].Reason != "configured" {
		t.Fatalf("history %v, want %v", path, want)
	}
	_, err = s.PodTransitions(ctx, "beta", "pod-1")
	wantKind(t, err, fault.KindNotFound)

	if err := s.CreatePod(ctx, draftPod("pod-2", "u-bob", at.Add(time.Hour)), pods.Transition{At: at, Actor: ana}); err != nil {
		t.Fatal(err)
	}
	ids := func(f pods.Filter) []string {
		list, err := s.ListPods(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, p := range list {
			out = append(out, p.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    pods.Filter
		want []string
	}{
		{"every pod of the tenant, newest first", pods.Filter{TenantID: "acme"}, []string{"pod-2", "pod-1"}},
		{"one owner's", pods.Filter{TenantID: "acme", OwnerID: "u-ana"}, []string{"pod-1"}},
		{"by state", pods.Filter{TenantID: "acme", States: []pods.State{pods.Draft, pods.Running}}, []string{"pod-2"}},
		{"another tenant's: none", pods.Filter{TenantID: "beta"}, []string{}},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
