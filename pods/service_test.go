package pods_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
)

// TestEveryChangeCommitsWithItsEvent: on each backend, a saved draft and
// each move leave exactly one event in the outbox, keyed by the pod, and a
// refused move leaves none.
func TestEveryChangeCommitsWithItsEvent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		st := openStore(t, b)
		now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
		svc := pods.NewService(st, func() time.Time { return now })
		ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser}
		cfg := pods.Config{Name: "train", GPU: "A100-SXM-80GB", GPUCount: 1, Provider: pods.Auto, VCPU: 30, RAMGiB: 200, DiskGiB: 512,
			Image: "cuda-12.4-base", Pricing: pods.OnDemand}

		_, err := svc.CreateDraft(ctx, ana, "acme", ana.ID, pods.Config{Name: "Bad"}, pods.Rate{})
		if fault.KindOf(err) != fault.KindInvalid {
			t.Fatalf("a bad configuration: %v", err)
		}
		cfg.OfferID = "lambda-x"
		p, err := svc.CreateDraft(ctx, ana, "acme", ana.ID, cfg, pods.FlatRate(money.MustParse("1.29")))
		if err != nil || p.State != pods.Draft || p.OfferID != "lambda-x" || p.Revision != 1 {
			t.Fatalf("draft: %+v %v", p, err)
		}
		p, err = svc.Move(ctx, ana, p, pods.Pending, "deploy", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Move(ctx, ana, p, pods.Running, "skip ahead", ""); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("a move the table forbids: %v", err)
		}
		stale := p
		stale.Revision = 1
		if _, err := svc.UpdateDraft(ctx, ana, stale, cfg, pods.Rate{}); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("editing a deployed pod: %v", err)
		}

		es, err := st.PendingEvents(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []events.Type{pods.EventConfigured, pods.EventDeployRequested}
		if len(es) != len(want) {
			t.Fatalf("%d events, want %d: %+v", len(es), len(want), es)
		}
		for i, e := range es {
			var m pods.Moved
			if err := json.Unmarshal(e.Payload, &m); err != nil {
				t.Fatal(err)
			}
			if e.Type != want[i] || e.Key != p.ID || e.TenantID != "acme" || m.Pod.ID != p.ID || m.Actor != ana || !e.CreatedAt.Equal(now) {
				t.Fatalf("event %d: %+v %+v", i, e, m)
			}
		}
		hist, err := svc.History(ctx, "acme", p.ID)
		if err != nil || len(hist) != 2 || hist[1].Reason != "deploy" {
			t.Fatalf("history %+v %v", hist, err)
		}
	})
}

// openStore opens a fresh store on backend b for one test.
func openStore(t *testing.T, b dbtest.Backend) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), b.URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
