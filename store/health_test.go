package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/store"
)

// testSystemHealth: the facts the console's health page reads when
// something is stuck. The outbox backlog counts unpublished events, of a
// tenant or of all, with the oldest and the latest published; Slack
// delivery counts the messages posted since a time and the decisions
// that change something but have none; webhook deliveries count what was
// received, processed and failed since a time, what waits however old,
// and why the oldest waits.
func testSystemHealth(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	since := now.Add(-24 * time.Hour)

	t.Run("an empty platform has nothing behind", func(t *testing.T) {
		if b, err := s.OutboxBacklog(ctx, ""); err != nil || b != (events.Backlog{}) {
			t.Errorf("backlog %+v, %v", b, err)
		}
		if d, err := s.SlackDelivery(ctx, "acme", since); err != nil || d != (decision.SlackDelivery{}) {
			t.Errorf("slack %+v, %v", d, err)
		}
		if st, err := s.ProcessorEventStats(ctx, "", since); err != nil || st != (billing.EventStats{}) {
			t.Errorf("webhooks %+v, %v", st, err)
		}
	})

	var ids []string
	for i, tenantID := range []string{"acme", "acme", "beta", "acme"} {
		e, err := events.New(tenantCreated, tenantID, tenantID, map[string]int{"n": i}, now.Add(time.Duration(i-10)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	published := now.Add(-5 * time.Minute)
	if err := s.MarkPublished(ctx, ids[:1], published); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant string
		want   events.Backlog
	}{
		{"", events.Backlog{Pending: 3, OldestPendingAt: now.Add(-9 * time.Minute), LastPublishedAt: published}},
		{"acme", events.Backlog{Pending: 2, OldestPendingAt: now.Add(-9 * time.Minute), LastPublishedAt: published}},
		{"beta", events.Backlog{Pending: 1, OldestPendingAt: now.Add(-8 * time.Minute)}},
	} {
		if got, err := s.OutboxBacklog(ctx, c.tenant); err != nil || !sameBacklog(got, c.want) {
			t.Errorf("backlog of %q = %+v, %v; want %+v", c.tenant, got, err, c.want)
		}
	}

	// Three acme decisions that change something (one posted, one posted
	// before the window, one not posted), a read never posted, and one of
	// beta's posted.
	decisions := []struct {
		id, tenant string
		at         time.Time
		read       bool
		posted     bool
	}{
		{"dec_posted", "acme", now.Add(-time.Hour), false, true},
		{"dec_old", "acme", now.Add(-48 * time.Hour), false, true},
		{"dec_waiting", "acme", now.Add(-2 * time.Hour), false, false},
		{"dec_read", "acme", now.Add(-3 * time.Hour), true, false},
		{"dec_beta", "beta", now.Add(-time.Hour), false, true},
	}
	for _, d := range decisions {
		dec := newDecision(d.id, d.tenant, "task-1", "deploy_pod", 0, decision.StatusExecuted, d.at)
		dec.ReadOnly = d.read
		if err := s.CreateDecision(ctx, dec); err != nil {
			t.Fatal(err)
		}
		if d.posted {
			if err := s.AddSlackMessage(ctx, d.tenant, d.id, "C42", d.id, 1, d.at.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		tenant string
		want   decision.SlackDelivery
	}{
		{"acme", decision.SlackDelivery{Posted: 1, Unposted: 1, OldestUnposted: now.Add(-2 * time.Hour), LastPostedAt: now.Add(-time.Hour + time.Second)}},
		{"beta", decision.SlackDelivery{Posted: 1, LastPostedAt: now.Add(-time.Hour + time.Second)}},
		{"", decision.SlackDelivery{Posted: 2, Unposted: 1, OldestUnposted: now.Add(-2 * time.Hour), LastPostedAt: now.Add(-time.Hour + time.Second)}},
	} {
		got, err := s.SlackDelivery(ctx, c.tenant, since)
		if err != nil || got.Posted != c.want.Posted || got.Unposted != c.want.Unposted ||
			!got.OldestUnposted.Equal(c.want.OldestUnposted) || !got.LastPostedAt.Equal(c.want.LastPostedAt) {
			t.Errorf("slack of %q = %+v, %v; want %+v", c.tenant, got, err, c.want)
		}
	}

	// Webhook events: acme's applied and failed ones, one waiting at
	// acme's endpoint, an old one waiting at the global endpoint, and one
	// from before the window, processed.
	for _, e := range []struct {
		id, endpoint, tenant string
		at                   time.Time
		outcome, err         string
	}{
		{"evt_applied", "", "acme", now.Add(-time.Hour), billing.OutcomeApplied, ""},
		{"evt_failed", "acme", "acme", now.Add(-50 * time.Minute), billing.OutcomeFailed, "no such subscription"},
		{"evt_waiting", "acme", "", now.Add(-30 * time.Minute), "", "database away"},
		{"evt_global", "", "", now.Add(-40 * time.Hour), "", "stripe key missing"},
		{"evt_old", "", "acme", now.Add(-30 * time.Hour), billing.OutcomeApplied, ""},
	} {
		pe := billing.ProcessorEvent{ID: e.id, Processor: billing.BackendStripe, Endpoint: e.endpoint, Type: "invoice.paid",
			Payload: []byte(`{}`), ReceivedAt: e.at}
		if _, err := s.PutProcessorEvent(ctx, pe); err != nil {
			t.Fatal(err)
		}
		if e.outcome == "" {
			if err := s.NoteProcessorEventError(ctx, e.id, e.err); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := s.ClaimProcessorEvent(ctx, e.id, e.at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		pe.TenantID, pe.Outcome, pe.Error = e.tenant, e.outcome, e.err
		if err := s.FinishProcessorEvent(ctx, pe); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		tenant string
		want   billing.EventStats
	}{
		{"acme", billing.EventStats{Received: 3, Processed: 2, Failed: 1, Unprocessed: 1, OldestUnprocessed: now.Add(-30 * time.Minute),
			Waiting: "database away", LastReceived: now.Add(-30 * time.Minute), LastFailure: "invoice.paid: no such subscription"}},
		{"", billing.EventStats{Received: 3, Processed: 2, Failed: 1, Unprocessed: 2, OldestUnprocessed: now.Add(-40 * time.Hour),
			Waiting: "stripe key missing", LastReceived: now.Add(-30 * time.Minute), LastFailure: "invoice.paid: no such subscription"}},
		{"beta", billing.EventStats{}},
	} {
		got, err := s.ProcessorEventStats(ctx, c.tenant, since)
		if err != nil || !sameStats(got, c.want) {
			t.Errorf("webhooks of %q = %+v, %v; want %+v", c.tenant, got, err, c.want)
		}
	}
}

func sameBacklog(a, b events.Backlog) bool {
	return a.Pending == b.Pending && a.OldestPendingAt.Equal(b.OldestPendingAt) && a.LastPublishedAt.Equal(b.LastPublishedAt)
}

func sameStats(a, b billing.EventStats) bool {
	return a.Received == b.Received && a.Processed == b.Processed && a.Failed == b.Failed && a.Unprocessed == b.Unprocessed &&
		a.OldestUnprocessed.Equal(b.OldestUnprocessed) && a.Waiting == b.Waiting && a.LastReceived.Equal(b.LastReceived) &&
		a.LastFailure == b.LastFailure
}
