package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

const tenantCreated events.Type = "tenant.created"

func event(t *testing.T, key string) events.Event {
	t.Helper()
	e, err := events.New(tenantCreated, key, key, map[string]string{"id": key}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testOutbox: the outbox row and the change it reports commit together, in
// one transaction across aggregates (tenants, audit, outbox), or neither
// does; published rows leave the pending list.
func testOutbox(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	create := func(ctx context.Context, id string) error {
		tn := tenant.Tenant{ID: id, Name: id, Mode: mode.Sandbox, CreatedAt: now, UpdatedAt: now}
		return s.CreateTenant(ctx, tn, rec("tenant.create", id))
	}
	pending := func() []events.Event {
		t.Helper()
		es, err := s.PendingEvents(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}

	ok := event(t, "acme")
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := create(ctx, "acme"); err != nil {
			return err
		}
		if _, err := s.AppendAudit(ctx, rec("tenant.note", "acme")); err != nil {
			return err
		}
		// A nested operation joins the transaction instead of waiting
		// for the write lock the outer one holds.
		return s.InTx(ctx, func(ctx context.Context) error { return s.Enqueue(ctx, ok) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if es := pending(); len(es) != 1 || es[0].ID != ok.ID || es[0].Type != tenantCreated || es[0].Key != "acme" ||
		string(es[0].Payload) != `{"id":"acme"}` || !es[0].CreatedAt.Equal(ok.CreatedAt) {
		t.Fatalf("after a committed change the outbox holds %+v; want exactly its event", es)
	}

	// The change fails after its event was written: neither remains.
	dup := event(t, "acme-again")
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := s.Enqueue(ctx, dup); err != nil {
			return err
		}
		return create(ctx, "acme")
	})
	wantKind(t, err, fault.KindConflict)
	// The operation fails after every write succeeded: nothing remains.
	boom := errors.New("provider said no")
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := create(ctx, "beta"); err != nil {
			return err
		}
		if _, err := s.AppendAudit(ctx, rec("tenant.note", "beta")); err != nil {
			return err
		}
		// A batch joins the transaction too (on PostgreSQL, instead of COPY
		// on the pool).
		if err := s.AppendAudits(ctx, []audit.Record{rec("tenant.note", "beta"), rec("tenant.note", "beta")}); err != nil {
			return err
		}
		return errors.Join(s.Enqueue(ctx, event(t, "beta")), boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want the operation's error", err)
	}
	if es := pending(); len(es) != 1 {
		t.Fatalf("after two failed changes the outbox holds %d events; want only the first", len(es))
	}
	if exists, _ := s.TenantExists(ctx, "beta"); exists {
		t.Fatal("the failed change left its tenant")
	}
	recs, err := s.QueryAudit(ctx, audit.Filter{TenantID: "beta"})
	if err != nil || len(recs) != 0 {
		t.Fatalf("the failed change left audit records: %v %v", recs, err)
	}

	if err := s.MarkPublished(ctx, []string{ok.ID}, now); err != nil {
		t.Fatal(err)
	}
	if es := pending(); len(es) != 0 {
		t.Fatalf("published events still pending: %+v", es)
	}
	if n, err := s.OutboxDepth(ctx); err != nil || n != 0 {
		t.Fatalf("outbox depth %d, %v", n, err)
	}
	wantKind(t, s.Enqueue(ctx, events.Event{ID: "x", Type: "nodot", Key: "k"}), fault.KindInvalid)

	// Published events are pruned once older than the retention; pending
	// ones never are.
	late := event(t, "late")
	if err := s.Enqueue(ctx, late); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneOutbox(ctx, now); err != nil || n != 0 {
		t.Fatalf("pruned %d published at the cut-off, %v", n, err)
	}
	if n, err := s.PruneOutbox(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want the one published event", n, err)
	}
	if es := pending(); len(es) != 1 || es[0].ID != late.ID {
		t.Fatalf("after pruning the pending events are %+v", es)
	}
}
