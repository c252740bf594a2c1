package pods

import (
	"slices"

	"github.com/gpubroker/pod/fault"
)

// State is where a pod is in its life.
type State string

// The states of a pod.
const (
	// Draft is a saved configuration, not yet deployed: it costs nothing.
	Draft State = "draft"
	// Pending is deployed and waiting for the provisioning worker.
	Pending State = "pending"
	// Provisioning is being started on a provider.
	Provisioning State = "provisioning"
	// Ready is started on the provider and waits for its owner's
	// activation.
	Ready State = "ready"
	// Running is activated: the owner has its connection details and pays
	// for every second.
	Running State = "running"
	// Stopped is halted on the provider; it can be started again.
	Stopped State = "stopped"
	// Terminating is being removed from the provider.
	Terminating State = "terminating"
	// Terminated is gone for good (a discarded draft too).
	Terminated State = "terminated"
	// Failed could not be provisioned; Reason says why.
	Failed State = "failed"
)

// States lists every state in the order of a pod's life.
var States = []State{Draft, Pending, Provisioning, Ready, Running, Stopped, Terminating, Terminated, Failed}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// transitions is the one table of the moves a pod may make: from each state,
// the states it may go to. Everything else is refused.
var transitions = map[State][]State{
	Draft:        {Pending, Terminated},
	Pending:      {Provisioning, Failed, Terminating},
	Provisioning: {Ready, Failed, Terminating},
	Ready:        {Running, Terminating},
	Running:      {Stopped, Terminating},
	Stopped:      {Running, Terminating},
	Terminating:  {Terminated},
	Failed:       {Terminated},
	Terminated:   nil,
}

// CanMove reports whether a pod in state from may move to state to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// Next lists the states a pod in s may move to.
func Next(s State) []State { return slices.Clone(transitions[s]) }

// Final reports whether nothing can happen to a pod in s any more.
func (s State) Final() bool { return len(transitions[s]) == 0 }

// Live reports whether a pod in s holds (or is getting) a machine on a
// provider.
func (s State) Live() bool {
	switch s {
	case Pending, Provisioning, Ready, Running, Stopped, Terminating:
		return true
	}
	return false
}

// Move checks a transition and answers the refusal a caller sees: a
// conflict naming the pod's current state and what it could do instead.
func Move(id string, from, to State) error {
	if CanMove(from, to) {
		return nil
	}
	return fault.IllegalMove("pod", id, from, to, transitions[from])
}
