// Package agent is the procurement agent: a Go port of the Agent Zero
// loop. A Context is one conversation of an admin with the agent; each
// message starts a task (a monologue) or, while one runs, is taken as an
// intervention at the loop's next safe point. Each iteration builds the
// prompt, asks the model for its next step (a tool call, natively or as
// Agent Zero's JSON reply), runs the tool and appends the result, until
// the response tool ends the monologue or a limit does. The agent acts
// only through the tools it is given.
package agent
