package agent_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gpubroker/pod/agent"
)

// instant answers at once: list offers steps times, then respond.
type instant struct{ step, steps int }

func (m *instant) Next(context.Context, agent.Prompt) (agent.Answer, error) {
	m.step++
	if m.step > m.steps {
		return agent.Answer{Call: &agent.Reply{Tool: "response", Args: json.RawMessage(`{"text":"done"}`)}}, nil
	}
	return agent.Answer{Text: `{"thoughts":["cheaper"],"headline":"list","tool_name":"list_offers","tool_args":{"page":` +
		string(rune('0'+m.step%10)) + `}}`}, nil
}

// BenchmarkLoopIteration is the loop's own cost a step (prompt, reply
// parsing, tool dispatch, history) with a model and tools that answer at
// once; goal ≤ 1 ms.
func BenchmarkLoopIteration(b *testing.B) {
	const steps = 20
	f := &fleet{}
	for b.Loop() {
		c := agent.NewContext(agent.Config{Tenant: "acme", Model: &instant{steps: steps}, Tools: f, Limits: agent.Limits{MaxIterations: steps + 1}})
		if out, err := c.Communicate(context.Background(), "go"); err != nil || out.Ending != agent.Responded {
			b.Fatalf("%+v %v", out, err)
		}
		f.calls = f.calls[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*(steps+1)), "µs/iteration")
}
