// Package pods is the pod domain: a GPU machine a user (or the agent, or an
// MCP client) configures, deploys, activates, stops, starts, scales and
// terminates. It owns the pod's vocabulary — its configuration, its states
// and the one table of the transitions allowed between them — and the
// rules that hold whichever face asks.
//
// It does no I/O of its own: the store keeps pods and their history, the
// providers start the machines, the tools expose the operations. It must
// not import a face or the tools.
package pods
