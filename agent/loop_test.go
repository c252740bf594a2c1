package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/money"
)

// scripted answers each prompt with the next of its replies (a function
// of the prompt, to look at what it was asked).
type scripted struct {
	mu      sync.Mutex
	replies []func(agent.Prompt) agent.Answer
	prompts []agent.Prompt
}

func (s *scripted) Next(ctx context.Context, p agent.Prompt) (agent.Answer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompts = append(s.prompts, p)
	if len(s.replies) == 0 {
		return agent.Answer{}, errors.New("the script ran out")
	}
	next := s.replies[0]
	s.replies = s.replies[1:]
	return next(p), nil
}

func say(text string) func(agent.Prompt) agent.Answer {
	return func(agent.Prompt) agent.Answer { return agent.Answer{Text: text, InputTokens: 100, OutputTokens: 20} }
}

func call(tool, args string) func(agent.Prompt) agent.Answer {
	return say(fmt.Sprintf(`{"thoughts":["next"],"headline":"%s","tool_name":"%s","tool_args":%s}`, tool, tool, args))
}

// fleet is the tools the agent is given: it records the calls and
// answers each with its arguments, or fails the tool "broken".
type fleet struct {
	mu    sync.Mutex
	calls []string
}

func (f *fleet) Specs() []agent.ToolSpec {
	return []agent.ToolSpec{
		{Name: "list_offers", Description: "List GPU offers.", Schema: json.RawMessage(`{"type":"object"}`)},
		{Name: "broken", Description: "Always fails.", Schema: json.RawMessage(`{"type":"object"}`)},
	}
}

func (f *fleet) Call(_ context.Context, c agent.Call) (json.RawMessage, error) {
	name, args := c.Reply.Tool, c.Reply.Args
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name+" "+string(args))
	if name == "broken" {
		return nil, errors.New("the provider is down")
	}
	return json.RawMessage(`{"offers":[{"id":"lambda-h100","price":"2.49"}],"asked":` + string(args) + `}`), nil
}

func run(t *testing.T, m agent.Model, f *fleet, lim agent.Limits) (agent.Outcome, *agent.Context) {
	t.Helper()
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: f, Limits: lim, Goals: []string{"keep 4 × H100 below $12/h"}})
	out, err := c.Communicate(context.Background(), "find the cheapest H100")
	if err != nil {
		t.Fatal(err)
	}
	return out, c
}

// TestATaskCallsItsToolsAndEndsWithTheResponse: the model lists offers,
// then answers; the tool's result is in the history it reads next, and the
// system prompt shows the tools, the reply format and the goals.
func TestATaskCallsItsToolsAndEndsWithTheResponse(t *testing.T) {
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		call("list_offers", `{"gpu":"H100"}`),
		call("response", `{"text":"lambda-h100 at $2.49/h"}`),
	}}
	f := &fleet{}
	out, _ := run(t, m, f, agent.Limits{})
	if out.Ending != agent.Responded || out.Response != "lambda-h100 at $2.49/h" || out.Iterations != 2 || out.InputTokens != 200 {
		t.Fatalf("outcome %+v", out)
	}
	if len(f.calls) != 1 || f.calls[0] != `list_offers {"gpu":"H100"}` {
		t.Fatalf("calls %v", f.calls)
	}
	sys := m.prompts[0].System
	for _, want := range []string{"## list_offers", "## response", "## call_subordinate", `"tool_name"`, "keep 4 × H100 below $12/h", "tenant acme"} {
		if !strings.Contains(sys, want) {
			t.Errorf("the system prompt lacks %q", want)
		}
	}
	h := m.prompts[1].History
	if len(h) != 3 || h[2].Role != agent.RoleTool || !strings.Contains(h[2].Content, "lambda-h100") {
		t.Fatalf("history of the second step %+v", h)
	}
}

// TestBadRepliesAreObservationsUpToTheRepairLimit: words without JSON, an
// unknown tool and a tool's error each go back to the model, which then
// succeeds; a repair limit's worth in a row ends the task saying why.
func TestBadRepliesAreObservationsUpToTheRepairLimit(t *testing.T) {
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		say("Let me think about it."),
		call("deploy_everything", `{}`),
		call("broken", `{}`),
		call("list_offers", `{}`),
		call("response", `{"text":"done"}`),
	}}
	f := &fleet{}
	out, _ := run(t, m, f, agent.Limits{MaxRepairs: 3})
	if out.Ending != agent.Responded || out.Iterations != 5 {
		t.Fatalf("outcome %+v", out)
	}
	h := m.prompts[3].History
	var obs []string
	for _, msg := range h {
		if msg.Role == agent.RoleTool && strings.HasPrefix(msg.Content, "error: ") {
			obs = append(obs, msg.Content)
		}
	}
	if len(obs) != 3 || !strings.Contains(obs[0], "could not be read") || !strings.Contains(obs[1], `no tool "deploy_everything"`) ||
		!strings.Contains(obs[2], "the provider is down") {
		t.Fatalf("observations %q", obs)
	}

	m = &scripted{}
	for i := range 5 {
		m.replies = append(m.replies, call("nope", fmt.Sprintf(`{"try":%d}`, i)))
	}
	out, _ = run(t, m, &fleet{}, agent.Limits{MaxRepairs: 2})
	if out.Ending != agent.MaxRepairs || out.Iterations != 3 || !strings.Contains(out.Response, "2 corrections in a row did not help") {
		t.Fatalf("outcome %+v", out)
	}
}

// TestTheSameReplyTwiceIsWarnedNotActedOn.
func TestTheSameReplyTwiceIsWarnedNotActedOn(t *testing.T) {
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		call("list_offers", `{}`), call("list_offers", `{}`), call("response", `{"text":"ok"}`),
	}}
	f := &fleet{}
	out, _ := run(t, m, f, agent.Limits{})
	last := m.prompts[2].History[len(m.prompts[2].History)-1]
	if out.Ending != agent.Responded || len(f.calls) != 1 || last.Role != agent.RoleUser || !strings.Contains(last.Content, "same reply") {
		t.Fatalf("outcome %+v, calls %v, last message %+v", out, f.calls, last)
	}
}

// TestEachLimitEndsTheTaskWithAClearMessage: steps, model cost, tokens
// and wall time.
func TestEachLimitEndsTheTaskWithAClearMessage(t *testing.T) {
	forever := func(cost money.Amount) *scripted {
		m := &scripted{}
		for i := range 50 {
			m.replies = append(m.replies, func(agent.Prompt) agent.Answer {
				a := call("list_offers", fmt.Sprintf(`{"page":%d}`, i))(agent.Prompt{})
				a.Cost = cost
				return a
			})
		}
		return m
	}
	for _, c := range []struct {
		name   string
		lim    agent.Limits
		cost   money.Amount
		ending agent.Ending
		says   string
	}{
		{"steps", agent.Limits{MaxIterations: 4}, 0, agent.MaxIterations, "took 4 steps, its limit"},
		{"cost", agent.Limits{MaxCost: money.MustParse("0.25")}, money.MustParse("0.10"), agent.MaxCost, "cost $0.30, over its limit of $0.25"},
		{"tokens", agent.Limits{MaxTokens: 500}, 0, agent.MaxTokens, "used 600 tokens, over its limit of 500"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := run(t, forever(c.cost), &fleet{}, c.lim)
			if out.Ending != c.ending || !strings.Contains(out.Response, c.says) {
				t.Fatalf("outcome %+v", out)
			}
		})
	}
	t.Run("wall time", func(t *testing.T) {
		slow := &scripted{replies: []func(agent.Prompt) agent.Answer{call("list_offers", `{}`)}}
		m := modelFunc(func(ctx context.Context, p agent.Prompt) (agent.Answer, error) {
			if len(slow.prompts) == 0 {
				return slow.Next(ctx, p)
			}
			<-ctx.Done()
			return agent.Answer{}, ctx.Err()
		})
		c := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: &fleet{}, Limits: agent.Limits{WallTime: 50 * time.Millisecond}})
		out, err := c.Communicate(context.Background(), "go")
		if err != nil || out.Ending != agent.WallTime || !strings.Contains(out.Response, "ran out of its time (50ms)") {
			t.Fatalf("outcome %+v, %v", out, err)
		}
	})
}

type modelFunc func(ctx context.Context, p agent.Prompt) (agent.Answer, error)

func (f modelFunc) Next(ctx context.Context, p agent.Prompt) (agent.Answer, error) { return f(ctx, p) }

// TestAnInterventionIsTakenAtTheNextStep: a message sent while a task
// runs is queued, not a new task, and the model reads it on its next
// step.
func TestAnInterventionIsTakenAtTheNextStep(t *testing.T) {
	var c *agent.Context
	queued := make(chan error, 1)
	steps := 0
	m := modelFunc(func(ctx context.Context, p agent.Prompt) (agent.Answer, error) {
		steps++
		switch steps {
		case 1:
			_, err := c.Communicate(ctx, "only Lambda, please")
			queued <- err
			return call("list_offers", `{}`)(p), nil
		case 2:
			last := p.History[len(p.History)-1]
			if last.Role != agent.RoleUser || !strings.Contains(last.Content, "only Lambda, please") {
				return agent.Answer{}, fmt.Errorf("the intervention is not the last message: %+v", last)
			}
			return call("response", `{"text":"Lambda it is"}`)(p), nil
		}
		return agent.Answer{}, errors.New("too many steps")
	})
	c = agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: &fleet{}})
	out, err := c.Communicate(context.Background(), "find H100s")
	if err != nil || out.Ending != agent.Responded || out.Response != "Lambda it is" {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if err := <-queued; !errors.Is(err, agent.ErrBusy) {
		t.Fatalf("a message while running answered %v; want ErrBusy", err)
	}
}

// TestASubordinateAnswersItsSuperiorWithinTheDepthLimit: agent 0 hands a
// part to agent 1, whose response is the call's result; agent 1 may not
// go deeper than the limit, and is told so.
func TestASubordinateAnswersItsSuperiorWithinTheDepthLimit(t *testing.T) {
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		call("call_subordinate", `{"message":"price H100s on Lambda"}`),
		call("call_subordinate", `{"message":"go deeper"}`), // agent 1, refused
		call("response", `{"text":"Lambda: $2.49/h"}`),      // agent 1
		call("response", `{"text":"the cheapest is Lambda at $2.49/h"}`),
	}}
	out, _ := run(t, m, &fleet{}, agent.Limits{MaxDepth: 1})
	if out.Ending != agent.Responded || out.Response != "the cheapest is Lambda at $2.49/h" {
		t.Fatalf("outcome %+v", out)
	}
	if !strings.Contains(m.prompts[1].System, "agent 1 of") || !strings.Contains(m.prompts[1].System, "subordinate working for agent 0") {
		t.Fatalf("agent 1's system prompt: %s", m.prompts[1].System[:200])
	}
	refused := m.prompts[2].History[len(m.prompts[2].History)-1]
	if !strings.Contains(refused.Content, "may not call a subordinate") {
		t.Fatalf("agent 1 going deeper was told %q", refused.Content)
	}
	result := m.prompts[3].History[len(m.prompts[3].History)-1]
	if result.Tool != "call_subordinate" || !strings.Contains(result.Content, "Lambda: $2.49/h") {
		t.Fatalf("agent 0 read %+v", result)
	}
}

// TestANativeToolCallIsTakenAsTheReply.
func TestANativeToolCallIsTakenAsTheReply(t *testing.T) {
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		func(agent.Prompt) agent.Answer {
			return agent.Answer{Call: &agent.Reply{Headline: "list", Tool: "list_offers"}}
		},
		func(agent.Prompt) agent.Answer {
			return agent.Answer{Call: &agent.Reply{Tool: "response", Args: json.RawMessage(`{"text":"ok"}`)}}
		},
	}}
	f := &fleet{}
	out, _ := run(t, m, f, agent.Limits{})
	if out.Ending != agent.Responded || len(f.calls) != 1 || f.calls[0] != "list_offers {}" {
		t.Fatalf("outcome %+v, calls %v", out, f.calls)
	}
}

// recorder notes the loop's fixed places as they pass.
type recorder struct {
	agent.NoExtension
	seen []string
}

func (r *recorder) MonologueStart(_ context.Context, a *agent.Agent, msg string) {
	r.seen = append(r.seen, fmt.Sprintf("start %d %s", a.Number, msg))
}
func (r *recorder) BeforeModel(_ context.Context, a *agent.Agent, _ *agent.Prompt) {
	r.seen = append(r.seen, fmt.Sprintf("model %d", a.Number))
}
func (r *recorder) AfterTool(_ context.Context, a *agent.Agent, s agent.Step) {
	r.seen = append(r.seen, fmt.Sprintf("tool %d %s", a.Number, s.Reply.Tool))
}
func (r *recorder) MonologueEnd(_ context.Context, a *agent.Agent, o agent.Outcome) {
	r.seen = append(r.seen, fmt.Sprintf("end %d %s", a.Number, o.Ending))
}

// TestExtensionsRunAtTheLoopsFixedPlaces, in order, for each agent.
func TestExtensionsRunAtTheLoopsFixedPlaces(t *testing.T) {
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		call("call_subordinate", `{"message":"price it"}`),
		call("response", `{"text":"$2.49"}`),
		call("response", `{"text":"done"}`),
	}}
	rec := &recorder{}
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: &fleet{}, Extensions: []agent.Extension{rec}})
	if _, err := c.Communicate(context.Background(), "go"); err != nil {
		t.Fatal(err)
	}
	want := "start 0 go|model 0|start 1 price it|model 1|tool 1 response|end 1 responded|tool 0 call_subordinate|model 0|tool 0 response|end 0 responded"
	if got := strings.Join(rec.seen, "|"); got != want {
		t.Fatalf("places\n got %s\nwant %s", got, want)
	}
}
