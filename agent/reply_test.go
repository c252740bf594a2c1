package agent_test

import (
	"errors"
	"testing"

	"github.com/gpubroker/pod/agent"
)

// TestRepliesAreReadTolerantly: the reply object is found in a code
// fence, after and before words, with single quotes and trailing commas,
// unclosed, with one thought as a string; no object, or no tool, is an
// error to tell the model.
func TestRepliesAreReadTolerantly(t *testing.T) {
	for _, c := range []struct{ name, text, tool, args, headline string }{
		{"plain", `{"thoughts":["cheap"],"headline":"list","tool_name":"list_offers","tool_args":{"gpu":"H100"}}`, "list_offers", `{"gpu":"H100"}`, "list"},
		{"fenced", "```json\n{\"tool_name\": \"response\", \"tool_args\": {\"text\": \"done\"}}\n```", "response", `{"text": "done"}`, ""},
		{"after and before words", `Sure. {"tool_name":"get_pod","tool_args":{"id":"p1"}} Let me know.`, "get_pod", `{"id":"p1"}`, ""},
		{"single quotes and a trailing comma", `{'headline': 'stop it', 'tool_name': 'stop_pod', 'tool_args': {'id': 'p1'},}`, "stop_pod", `{"id": "p1"}`, "stop it"},
		{"unclosed", `{"tool_name": "list_pods", "tool_args": {}`, "list_pods", `{}`, ""},
		{"no arguments", `{"tool_name": "list_pods"}`, "list_pods", `{}`, ""},
		{"a brace in a string", `{"tool_name":"response","tool_args":{"text":"use {x}"}} trailing }`, "response", `{"text":"use {x}"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := agent.ParseReply(c.text)
			if err != nil || r.Tool != c.tool || string(r.Args) != c.args || r.Headline != c.headline {
				t.Fatalf("%+v (args %s), %v", r, r.Args, err)
			}
		})
	}
	r, err := agent.ParseReply(`{"thoughts": "one thought", "tool_name": "x"}`)
	if err != nil || len(r.Thoughts) != 1 || r.Thoughts[0] != "one thought" {
		t.Fatalf("one thought as a string: %+v, %v", r, err)
	}
	if _, err := agent.ParseReply("I will list the offers now."); !errors.Is(err, agent.ErrNoReply) {
		t.Fatalf("words only: %v", err)
	}
	if _, err := agent.ParseReply(`{"headline": "thinking"}`); err == nil {
		t.Fatal("a reply without a tool was accepted")
	}
}
