package tools_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// TestSystemHealthShowsWhatIsBehindToAPodAdmin: system_health answers a
// tenant's POD Admin the tenant's outbox backlog, its Slack state and its
// webhook deliveries in the window asked for; the platform operator
// naming no tenant reads every tenant; a user who is not an admin is
// refused by role, and a window past 720 hours is invalid.
func TestSystemHealthShowsWhatIsBehindToAPodAdmin(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	now := p.Clock.Now().UTC()
	// Whatever the platform enqueued while starting is published, so the
	// counts below are this test's.
	pending, err := p.Store.PendingEvents(ctx, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range pending {
		ids = append(ids, e.ID)
	}
	if err := p.Store.MarkPublished(ctx, ids, now); err != nil {
		t.Fatal(err)
	}
	for i, tenantID := range []string{"acme", "beta", "beta"} {
		e, err := events.New("tenant.noted", tenantID, tenantID, map[string]int{"n": i}, now.Add(-time.Duration(10-i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Store.Enqueue(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Store.PutProcessorEvent(ctx, billing.ProcessorEvent{ID: "evt_acme", Processor: billing.BackendStripe, Endpoint: "acme",
		Type: "invoice.paid", Payload: []byte(`{}`), ReceivedAt: now.Add(-3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Params.Set(ctx, platformtest.AcmeAdmin, params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: "slack.enabled", Value: "true", Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}

	acme := mustCall(t, p, platformtest.AcmeAdmin, tools.ToolSystemHealth, `{}`).(tools.SystemHealth)
	if acme.Tenant != "acme" || acme.Stream.Pending != 1 || !acme.Stream.OldestPendingAt.Equal(now.Add(-10*time.Minute).Truncate(time.Microsecond)) ||
		!acme.Slack.Enabled || acme.Payments.Received != 1 || acme.Payments.Unprocessed != 1 {
		t.Errorf("acme's health %+v", acme)
	}
	if since := now.Add(-24 * time.Hour); acme.Since.Sub(since).Abs() > time.Minute {
		t.Errorf("the window starts %v, want about %v", acme.Since, since)
	}
	narrow := mustCall(t, p, platformtest.AcmeAdmin, tools.ToolSystemHealth, `{"hours":2}`).(tools.SystemHealth)
	if narrow.Payments.Received != 0 || narrow.Payments.Unprocessed != 1 {
		t.Errorf("a two-hour window counts what was received in it, and what waits however old: %+v", narrow.Payments)
	}
	all := mustCall(t, p, platformtest.Operator, tools.ToolSystemHealth, `{}`).(tools.SystemHealth)
	if all.Tenant != "" || all.Stream.Pending != 3 || all.Slack.Enabled {
		t.Errorf("the operator's health %+v", all)
	}

	res := call(t, p, platformtest.AcmeUser, tools.ToolSystemHealth, `{}`)
	if res.Err == nil || res.Verdict.Rule != policies.RuleRole {
		t.Errorf("a user who is not an admin: %+v", res)
	}
	wantFaultKind(t, call(t, p, platformtest.AcmeAdmin, tools.ToolSystemHealth, `{"hours":721}`).Err, fault.KindInvalid)
}
