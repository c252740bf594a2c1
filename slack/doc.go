// Package slack is the Slack face: it posts every decision of the
// procurement agent to its tenant's Slack channel as a Block Kit message,
// keeps that message current as the decision moves, and turns an admin's
// click on Approve, Reject or Override into the same tool call the other
// faces make, as that admin. It verifies every request Slack signs
// (signature, age, replay) and maps the Slack user to a POD Admin of the
// decision's tenant before acting.
//
// It holds no rule about decisions: whether one may be approved, by whom
// and what follows is the tools' and the decision package's to say. It
// never reads or writes a decision except through the tools.
package slack
