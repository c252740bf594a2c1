package pods

import (
	"strings"
	"testing"

	"github.com/gpubroker/pod/fault"
)

// TestTheTransitionTable checks every pair of states against the life a
// pod is promised: draft → pending → provisioning → ready → running ⇄
// stopped → terminating → terminated, failed from pending or provisioning,
// and nothing else.
func TestTheTransitionTable(t *testing.T) {
	allowed := map[[2]State]bool{
		{Draft, Pending}: true, {Draft, Terminated}: true,
		{Pending, Provisioning}: true, {Pending, Failed}: true, {Pending, Terminating}: true,
		{Provisioning, Ready}: true, {Provisioning, Failed}: true, {Provisioning, Terminating}: true,
		{Ready, Running}: true, {Ready, Terminating}: true,
		{Running, Stopped}: true, {Running, Terminating}: true,
		{Stopped, Running}: true, {Stopped, Terminating}: true,
		{Terminating, Terminated}: true,
		{Failed, Terminated}:      true,
	}
	for _, from := range States {
		for _, to := range States {
			want := allowed[[2]State{from, to}]
			name := string(from) + " to " + string(to)
			t.Run(name, func(t *testing.T) {
				if got := CanMove(from, to); got != want {
					t.Fatalf("CanMove = %v, want %v", got, want)
				}
				err := Move("p1", from, to)
				if want != (err == nil) {
					t.Fatalf("Move = %v", err)
				}
				if err != nil && (fault.KindOf(err) != fault.KindConflict || !strings.Contains(err.Error(), string(from))) {
					t.Fatalf("a refused move must be a conflict naming the current state: %v", err)
				}
			})
		}
	}
}

func TestStatesKnowWhetherTheyAreFinalOrLive(t *testing.T) {
	for _, c := range []struct {
		s           State
		final, live bool
	}{
		{Draft, false, false}, {Pending, false, true}, {Provisioning, false, true}, {Ready, false, true},
		{Running, false, true}, {Stopped, false, true}, {Terminating, false, true}, {Terminated, true, false}, {Failed, false, false},
	} {
		if c.s.Final() != c.final || c.s.Live() != c.live || !c.s.Valid() {
			t.Errorf("%s: final %v live %v valid %v", c.s, c.s.Final(), c.s.Live(), c.s.Valid())
		}
	}
	if State("booting").Valid() {
		t.Error("an unknown state is valid")
	}
	if Move("p1", Terminated, Running) == nil || !strings.Contains(Move("p1", Terminated, Running).Error(), "final") {
		t.Error("a final state's refusal should say it is final")
	}
}
