package agent_test

import (
	"fmt"
	"testing"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/fault"
)

// TestDecisionsMoveOnlyAsTheTableAllows checks every pair of statuses
// against the moves a decision's life allows, and that the refusal names
// the status a decision is in.
func TestDecisionsMoveOnlyAsTheTableAllows(t *testing.T) {
	allowed := map[[2]agent.DecisionStatus]bool{
		{agent.StatusProposed, agent.StatusAwaitingApproval}:   true,
		{agent.StatusProposed, agent.StatusApproved}:           true,
		{agent.StatusProposed, agent.StatusRejected}:           true,
		{agent.StatusAwaitingApproval, agent.StatusApproved}:   true,
		{agent.StatusAwaitingApproval, agent.StatusRejected}:   true,
		{agent.StatusAwaitingApproval, agent.StatusOverridden}: true,
		{agent.StatusApproved, agent.StatusExecuted}:           true,
		{agent.StatusApproved, agent.StatusFailed}:             true,
		{agent.StatusOverridden, agent.StatusExecuted}:         true,
		{agent.StatusOverridden, agent.StatusFailed}:           true,
		{agent.StatusExecuted, agent.StatusReverted}:           true,
	}
	for _, from := range agent.DecisionStatuses {
		for _, to := range agent.DecisionStatuses {
			want := allowed[[2]agent.DecisionStatus{from, to}]
			t.Run(fmt.Sprintf("%s to %s is allowed: %v", from, to, want), func(t *testing.T) {
				if got := agent.CanMove(from, to); got != want {
					t.Fatalf("CanMove(%s, %s) = %v", from, to, got)
				}
				err := agent.CheckMove("dec_1", from, to)
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
	final := map[agent.DecisionStatus]bool{agent.StatusRejected: true, agent.StatusFailed: true, agent.StatusReverted: true}
	for _, s := range agent.DecisionStatuses {
		if !s.Valid() {
			t.Errorf("%s is listed but not valid", s)
		}
		if s.Final() != final[s] {
			t.Errorf("%s final = %v, want %v", s, s.Final(), final[s])
		}
	}
	if agent.DecisionStatus("done").Valid() {
		t.Error("an unknown status is valid")
	}
}

func TestARefusedMoveSaysWhatTheDecisionCouldBecome(t *testing.T) {
	err := agent.CheckMove("dec_1", agent.StatusExecuted, agent.StatusApproved)
	want := "decision dec_1 is executed and cannot become approved (from executed it can become [reverted])"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	err = agent.CheckMove("dec_1", agent.StatusRejected, agent.StatusApproved)
	want = "decision dec_1 is rejected and cannot become approved (from rejected it can become nothing: it is final)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
func TestEveryStatusHasItsEventType(t *testing.T) {
	want := map[agent.DecisionStatus]string{
		agent.StatusProposed: string(agent.EventDecisionProposed), agent.StatusAwaitingApproval: string(agent.EventDecisionAwaitingApproval),
		agent.StatusApproved: string(agent.EventDecisionApproved), agent.StatusRejected: string(agent.EventDecisionRejected),
		agent.StatusOverridden: string(agent.EventDecisionOverridden), agent.StatusExecuted: string(agent.EventDecisionExecuted),
		agent.StatusFailed: string(agent.EventDecisionFailed), agent.StatusReverted: string(agent.EventDecisionReverted),
	}
	for _, s := range agent.DecisionStatuses {
		typ := agent.DecisionEvent(s)
		if string(typ) != want[s] || !typ.Valid() {
			t.Errorf("event of %s = %q, want %q", s, typ, want[s])
		}
	}
}
