// Package decision is the record of what the procurement agent decided:
// each tool call it makes, with its reasons, preview, policy verdict and
// status, moved only as one transition table allows, each change
// committed with its outbox event and audit record. It also holds the
// rule, fed by parameters, of which decisions wait for an admin's
// approval. The agent face proposes decisions; the store keeps them.
package decision
