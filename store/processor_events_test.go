package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/store"
)

// testProcessorEvents: an event is stored once by its id, even inside a
// transaction that goes on; it is claimed once; a customer, subscription
// and posting are found by the processor's ids; refunds add up by their
// reference prefix, taken literally.
func testProcessorEvents(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	e := billing.ProcessorEvent{ID: "evt_1", Processor: billing.BackendStripe, Type: "invoice.paid", Livemode: true,
		Payload: []byte(`{"id":"evt_1"}`), ReceivedAt: now}
	var first, second bool
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if first, err = s.PutProcessorEvent(ctx, e); err != nil {
			return err
		}
		second, err = s.PutProcessorEvent(ctx, e)
		return err
	})
	if err != nil || !first || second {
		t.Fatalf("put twice in one transaction = %v, %v, %v", first, second, err)
	}
	got, err := s.ProcessorEvent(ctx, "evt_1")
	if err != nil || got.Type != "invoice.paid" || !got.Livemode || string(got.Payload) != `{"id":"evt_1"}` || got.ProcessedAt != nil || !got.ReceivedAt.Equal(now) {
		t.Fatalf("event = %+v, %v", got, err)
	}
	if err := s.NoteProcessorEventError(ctx, "evt_1", "database away"); err != nil {
		t.Fatal(err)
	}
	left, err := s.UnprocessedProcessorEvents(ctx, 10)
	if err != nil || len(left) != 1 || left[0].Error != "database away" {
		t.Fatalf("unprocessed = %+v, %v", left, err)
	}
	// A claim rolled back leaves the event to claim again.
	errUndo := errors.New("undo")
	_ = s.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.ClaimProcessorEvent(ctx, "evt_1", now); !ok || err != nil {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		return errUndo
	})
	if ok, err := s.ClaimProcessorEvent(ctx, "evt_1", now); !ok || err != nil {
		t.Fatalf("claim after rollback = %v, %v", ok, err)
	}
	if ok, err := s.ClaimProcessorEvent(ctx, "evt_1", now); ok || err != nil {
		t.Fatalf("second claim = %v, %v", ok, err)
	}
	e.TenantID, e.UserID, e.Outcome, e.Error = "acme", "ana", billing.OutcomeApplied, ""
	if err := s.FinishProcessorEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ProcessorEvent(ctx, "evt_1"); got.ProcessedAt == nil || got.Outcome != billing.OutcomeApplied || got.TenantID != "acme" {
		t.Fatalf("finished = %+v", got)
	}
	if left, _ := s.UnprocessedProcessorEvents(ctx, 10); len(left) != 0 {
		t.Fatalf("unprocessed after processing = %+v", left)
	}
	_, err = s.ProcessorEvent(ctx, "evt_none")
	wantKind(t, err, fault.KindNotFound)

	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "ana")
	c := billing.Customer{TenantID: "acme", UserID: "ana", Mode: mode.Live, Backend: billing.BackendStripe, Account: "stripe::a", ID: "cus_a", CreatedAt: now}
	if err := s.PutBillingCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CustomerByProcessorID(ctx, "cus_a"); err != nil || got != c {
		t.Fatalf("customer = %+v, %v", got, err)
	}
	_, err = s.CustomerByProcessorID(ctx, "cus_b")
	wantKind(t, err, fault.KindNotFound)
	sub := billing.Subscription{ID: "bsub_1", TenantID: "acme", UserID: "ana", Mode: mode.Live, Backend: billing.BackendStripe,
		Plan: billing.Pro, Interval: billing.Monthly, Status: billing.Incomplete, BackendID: "sub_a", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SubscriptionByBackendID(ctx, "acme", "sub_a"); err != nil || got.ID != "bsub_1" {
		t.Fatalf("subscription = %+v, %v", got, err)
	}
	for _, id := range []struct{ tenant, backend string }{{"beta", "sub_a"}, {"acme", ""}} {
		_, err = s.SubscriptionByBackendID(ctx, id.tenant, id.backend)
		wantKind(t, err, fault.KindNotFound)
	}

	post := func(ref string, add money.Amount, kind billing.EntryKind) {
		t.Helper()
		if _, err := s.Post(ctx, billing.Posting{TenantID: "acme", UserID: "ana", Reference: ref, At: now, Add: add, Kind: kind}); err != nil {
			t.Fatalf("post %s: %v", ref, err)
		}
	}
	post("credits:pi_1", 20*money.Dollar, billing.KindCredit)
	post("refund:ch_1:500", -5*money.Dollar, billing.KindRefund)
	post("refund:ch_1:800", -3*money.Dollar, billing.KindRefund)
	post("refund:chX1:100", -1*money.Dollar, billing.KindRefund) // '_' must not match any character
	if tn, u, err := s.PostingOwner(ctx, "credits:pi_1"); err != nil || tn != "acme" || u != "ana" {
		t.Fatalf("owner = %s %s %v", tn, u, err)
	}
	_, _, err = s.PostingOwner(ctx, "credits:pi_2")
	wantKind(t, err, fault.KindNotFound)
	if sum, err := s.PostedSum(ctx, "acme", "ana", "refund:ch_1:"); err != nil || sum != -8*money.Dollar {
		t.Fatalf("refunded = %s, %v", sum.Decimal(), err)
	}
	if _, err := s.Post(ctx, billing.Posting{TenantID: "acme", UserID: "ana", Reference: "credits:neg", At: now, Add: -money.Dollar, Kind: billing.KindCredit}); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("a negative credit: %v", err)
	}
}
