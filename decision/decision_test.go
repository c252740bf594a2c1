package decision_test

import (
	"fmt"
	"testing"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
)

// TestDecisionsMoveOnlyAsTheTableAllows checks every pair of statuses
// against the moves a decision's life allows, and that the refusal names
// the status a decision is in.
func TestDecisionsMoveOnlyAsTheTableAllows(t *testing.T) {
	allowed := map[[2]decision.Status]bool{
		{decision.StatusProposed, decision.StatusAwaitingApproval}:   true,
		{decision.StatusProposed, decision.StatusApproved}:           true,
		{decision.StatusProposed, decision.StatusRejected}:           true,
		{decision.StatusAwaitingApproval, decision.StatusApproved}:   true,
		{decision.StatusAwaitingApproval, decision.StatusRejected}:   true,
		{decision.StatusAwaitingApproval, decision.StatusOverridden}: true,
		{decision.StatusApproved, decision.StatusExecuted}:           true,
		{decision.StatusApproved, decision.StatusFailed}:             true,
		{decision.StatusOverridden, decision.StatusExecuted}:         true,
		{decision.StatusOverridden, decision.StatusFailed}:           true,
		{decision.StatusExecuted, decision.StatusReverted}:           true,
	}
	for _, from := range decision.Statuses {
		for _, to := range decision.Statuses {
			want := allowed[[2]decision.Status{from, to}]
			t.Run(fmt.Sprintf("%s to %s is allowed: %v", from, to, want), func(t *testing.T) {
				if got := decision.CanMove(from, to); got != want {
					t.Fatalf("CanMove(%s, %s) = %v", from, to, got)
				}
				err := decision.CheckMove("dec_1", from, to)
				if want != (err == nil) {
					t.Fatalf("CheckMove(%s, %s) = %v", from, to, err)
				}
				if err != nil && fault.KindOf(err) != fault.KindConflict {
					t.Fatalf("refusal %v is not a conflict", err)
				}
			})
		}
	}
}

func TestOnlyRejectedFailedAndRevertedDecisionsAreFinal(t *testing.T) {
	final := map[decision.Status]bool{decision.StatusRejected: true, decision.StatusFailed: true, decision.StatusReverted: true}
	for _, s := range decision.Statuses {
		if !s.Valid() {
			t.Errorf("%s is listed but not valid", s)
		}
		if s.Final() != final[s] {
			t.Errorf("%s final = %v, want %v", s, s.Final(), final[s])
		}
	}
	if decision.Status("done").Valid() {
		t.Error("an unknown status is valid")
	}
}

func TestARefusedMoveSaysWhatTheDecisionCouldBecome(t *testing.T) {
	err := decision.CheckMove("dec_1", decision.StatusExecuted, decision.StatusApproved)
	want := "decision dec_1 is executed and cannot become approved (from executed it can become [reverted])"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	err = decision.CheckMove("dec_1", decision.StatusRejected, decision.StatusApproved)
	want = "decision dec_1 is rejected and cannot become approved (from rejected it can become nothing: it is final)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
func TestEveryStatusHasItsEventType(t *testing.T) {
	want := map[decision.Status]string{
		decision.StatusProposed: string(decision.EventDecisionProposed), decision.StatusAwaitingApproval: string(decision.EventDecisionAwaitingApproval),
		decision.StatusApproved: string(decision.EventDecisionApproved), decision.StatusRejected: string(decision.EventDecisionRejected),
		decision.StatusOverridden: string(decision.EventDecisionOverridden), decision.StatusExecuted: string(decision.EventDecisionExecuted),
		decision.StatusFailed: string(decision.EventDecisionFailed), decision.StatusReverted: string(decision.EventDecisionReverted),
	}
	for _, s := range decision.Statuses {
		typ := decision.EventFor(s)
		if string(typ) != want[s] || !typ.Valid() {
			t.Errorf("event of %s = %q, want %q", s, typ, want[s])
		}
	}
}
