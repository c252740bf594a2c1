package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/dbtest"
)

// TestTheAgentRemembersAcrossConversations: what one conversation saves
// the next one finds by its words, and forgets by its id; the tools exist
// only with a memory.
func TestTheAgentRemembersAcrossConversations(t *testing.T) {
	st := dbtest.Open(t, "sqlite")
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		call("memory_save", `{"text":"Lambda had the cheapest H100s in March"}`),
		call("response", `{"text":"noted"}`),
		call("memory_load", `{"query":"cheapest H100"}`),
		func(p agent.Prompt) agent.Answer {
			last := p.History[len(p.History)-1].Content
			var got struct {
				Memories []struct{ ID, Text string }
			}
			if json.Unmarshal([]byte(last), &got) != nil || len(got.Memories) != 1 {
				return call("response", `{"text":"found nothing: `+strings.ReplaceAll(last, `"`, `'`)+`"}`)(p)
			}
			return call("memory_forget", `{"id":"`+got.Memories[0].ID+`"}`)(p)
		},
		call("memory_load", `{"query":"lambda"}`),
		call("response", `{"text":"done"}`),
	}}
	cfg := agent.Config{Tenant: "acme", Model: m, Tools: &fleet{}, Memory: st, Actor: "ana"}
	if out, err := agent.NewContext(cfg).Communicate(context.Background(), "remember this"); err != nil || out.Response != "noted" {
		t.Fatalf("first conversation: %+v, %v", out, err)
	}
	out, err := agent.NewContext(cfg).Communicate(context.Background(), "what do you know?")
	if err != nil || out.Response != "done" {
		t.Fatalf("second conversation: %+v, %v", out, err)
	}
	forgot := m.prompts[4].History[len(m.prompts[4].History)-1].Content
	after := m.prompts[5].History[len(m.prompts[5].History)-1].Content
	if !strings.Contains(forgot, `"forgot"`) || after != `{"memories":[]}` {
		t.Fatalf("forget answered %s, then the search %s", forgot, after)
	}
	if !strings.Contains(m.prompts[0].System, "## memory_save") {
		t.Fatal("the memory tools are not shown")
	}
	plain := &scripted{replies: []func(agent.Prompt) agent.Answer{call("response", `{"text":"x"}`)}}
	_, _ = agent.NewContext(agent.Config{Tenant: "acme", Model: plain, Tools: &fleet{}}).Communicate(context.Background(), "hi")
	if strings.Contains(plain.prompts[0].System, "memory_save") {
		t.Fatal("memory tools are shown without a memory")
	}
}
