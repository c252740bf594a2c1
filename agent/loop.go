package agent

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/memory"
	"github.com/gpubroker/pod/money"
)

// Role says who wrote a message of the history.
type Role string

// The roles.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of an agent's history. A tool message carries the
// tool it answers.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
	Tool    string `json:"tool,omitempty"`
}

// ToolSpec is a tool as the model is shown it.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
}

// Prompt is what the model is asked for the next step.
type Prompt struct {
	System  string
	History []Message
	Tools   []ToolSpec
}

// Answer is the model's next step: its text (the JSON reply) or a native
// tool call, with what it cost.
type Answer struct {
	Text         string
	Call         *Reply
	InputTokens  int
	OutputTokens int
	Cost         money.Amount
}

// Model answers the next step of a conversation.
type Model interface {
	Next(ctx context.Context, p Prompt) (Answer, error)
}

// Tools are the calls the agent may make, bound to the tenant and the
// admin it acts for; the tools registry, with its policies, is behind
// them.
type Tools interface {
	Specs() []ToolSpec
	Call(ctx context.Context, c Call) (json.RawMessage, error)
}

// Call is one tool call of an agent: the reply that asked for it, as
// received and as read, and where in its task it was made.
type Call struct {
	Task      string
	Agent     int
	Iteration int
	Raw       string
	Reply     Reply
}

// Limits bound a task. A zero field takes its default.
type Limits struct {
	// MaxIterations bounds the model calls of one monologue.
	MaxIterations int
	// WallTime bounds a task from its start.
	WallTime time.Duration
	// MaxTokens and MaxCost bound what a task's model calls use.
	MaxTokens int
	MaxCost   money.Amount
	// MaxRepairs bounds the corrections in a row (a malformed reply, an
	// unknown tool, a tool's error) before the task gives up.
	MaxRepairs int
	// MaxDepth bounds subordinates: agent N may call agent N+1 while
	// N+1 <= MaxDepth.
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxIterations <= 0 {
		l.MaxIterations = 25
	}
	if l.WallTime <= 0 {
		l.WallTime = 10 * time.Minute
	}
	if l.MaxRepairs <= 0 {
		l.MaxRepairs = 3
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 2
	}
	return l
}

// Step is one iteration as it ended: the reply (raw, as the model gave
// it, and parsed), and the tool's result or the observation written back.
type Step struct {
	Agent       int             `json:"agent"`
	Iteration   int             `json:"iteration"`
	Raw         string          `json:"raw"`
	Reply       Reply           `json:"reply"`
	Result      json.RawMessage `json:"result,omitempty"`
	Observation string          `json:"observation,omitempty"`
}

// Extension runs at the loop's fixed places: audit, streaming and cost
// accounting hang there. Embed NoExtension to implement only some.
type Extension interface {
	MonologueStart(ctx context.Context, a *Agent, message string)
	BeforeModel(ctx context.Context, a *Agent, p *Prompt)
	AfterTool(ctx context.Context, a *Agent, s Step)
	MonologueEnd(ctx context.Context, a *Agent, o Outcome)
}

// NoExtension does nothing at every place.
type NoExtension struct{}

// MonologueStart implements Extension.
func (NoExtension) MonologueStart(context.Context, *Agent, string) {}

// BeforeModel implements Extension.
func (NoExtension) BeforeModel(context.Context, *Agent, *Prompt) {}

// AfterTool implements Extension.
func (NoExtension) AfterTool(context.Context, *Agent, Step) {}

// MonologueEnd implements Extension.
func (NoExtension) MonologueEnd(context.Context, *Agent, Outcome) {}

// Ending says why a monologue ended.
type Ending string

// The endings. Only Responded is the task done; each other names the
// limit or failure that ended it, with a clear final message.
const (
	Responded     Ending = "responded"
	MaxIterations Ending = "max_iterations"
	WallTime      Ending = "wall_time"
	MaxTokens     Ending = "max_tokens"
	MaxCost       Ending = "max_cost"
	MaxRepairs    Ending = "max_repairs"
	ModelFailed   Ending = "model_failed"
	Canceled      Ending = "canceled"
)

// Outcome is how a monologue ended: the response (the answer, or the
// message that says which limit ended it), and what it used.
type Outcome struct {
	Ending       Ending       `json:"ending"`
	Response     string       `json:"response"`
	Iterations   int          `json:"iterations"`
	InputTokens  int          `json:"input_tokens"`
	OutputTokens int          `json:"output_tokens"`
	Cost         money.Amount `json:"cost"`
	// Task names the task, on every decision it made.
	Task string `json:"task"`
}

// Names of the loop's own tools.
const (
	ToolResponse        = "response"
	ToolCallSubordinate = "call_subordinate"
)

var ownTools = []ToolSpec{
	{Name: ToolResponse, Description: "End the task: text is your answer to the administrator.",
		Schema: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`)},
	{Name: ToolCallSubordinate, Description: "Hand a part of the task to a subordinate agent; its final answer comes back as this call's result. " +
		"reset starts it afresh rather than going on with the one you called before.",
		Schema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"},"reset":{"type":"boolean"}},"required":["message"]}`)},
}

//go:embed prompts/*.tmpl
var promptFiles embed.FS

var systemPrompt = template.Must(template.ParseFS(promptFiles, "prompts/system.tmpl"))

// Config is what a Context runs with.
type Config struct {
	Tenant string
	Model  Model
	Tools  Tools
	Limits Limits
	// Goals and Budget are the tenant's, shown in the system prompt.
	Goals      []string
	Budget     string
	Extensions []Extension
	Now        func() time.Time
	// Memory keeps what the agent remembers for the tenant; without it
	// the agent has no memory tools.
	Memory memory.Store
	// Actor names who the agent works for, on what it remembers.
	Actor string
}

// Context is one conversation of an admin with the agent: the top agent
// and its history, and the task running now.
type Context struct {
	cfg  Config
	top  *Agent
	mu   sync.Mutex
	busy bool
	// interventions wait for the running loop's next safe point.
	interventions []string
}

// Agent is one agent of a context: 0 is the top one, N+1 a subordinate
// of N. It keeps its history across the monologues it runs.
type Agent struct {
	Number   int
	Superior *Agent
	History  []Message

	ctx         *Context
	subordinate *Agent
}

// NewContext starts a conversation.
func NewContext(cfg Config) *Context {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Limits = cfg.Limits.withDefaults()
	c := &Context{cfg: cfg}
	c.top = &Agent{ctx: c}
	return c
}

// How the messages an agent did not ask for begin in its history: an
// admin's word during a task, and news of the platform (what became of a
// decision that waited).
const (
	InterventionLead = "The administrator intervenes: "
	NewsLead         = "The platform reports: "
)

// Tell gives the agent news: the running task takes it at its next step,
// or the next task before its first.
func (c *Context) Tell(news string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interventions = append(c.interventions, NewsLead+news)
}

// Intervene queues message for the running task's next step and reports
// true, or reports false when no task runs.
func (c *Context) Intervene(message string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy {
		c.interventions = append(c.interventions, InterventionLead+message)
	}
	return c.busy
}

// ErrBusy answers a message taken as an intervention: a task is running.
var ErrBusy = errors.New("a task is running: the message is taken as an intervention at its next step")

// Communicate runs a task for message and answers how it ended; while a
// task runs, the message is queued as an intervention instead and the
// answer is ErrBusy.
func (c *Context) Communicate(ctx context.Context, message string) (Outcome, error) {
	return c.Run(ctx, "", message)
}

// NewTask names a new task: "task_" and a UUIDv7.
func NewTask() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("task id: %w", err)
	}
	return "task_" + id.String(), nil
}

// Run is Communicate for a task named beforehand (a new name when task
// is empty). News and interventions that arrive after a task's last step
// are taken by the next.
func (c *Context) Run(ctx context.Context, task, message string) (Outcome, error) {
	c.mu.Lock()
	if c.busy {
		c.interventions = append(c.interventions, InterventionLead+message)
		c.mu.Unlock()
		return Outcome{}, ErrBusy
	}
	c.busy = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.busy = false
		c.mu.Unlock()
	}()
	if task == "" {
		var err error
		if task, err = NewTask(); err != nil {
			return Outcome{}, err
		}
	}
	ctx, cancel := context.WithDeadline(WithTask(ctx, task), c.cfg.Now().Add(c.cfg.Limits.WallTime))
	defer cancel()
	u := &usage{task: task}
	out := c.top.monologue(ctx, message, u)
	out.Task = u.task
	return out, nil
}

type taskKey struct{}

// WithTask carries the task a monologue belongs to, for extensions.
func WithTask(ctx context.Context, task string) context.Context {
	return context.WithValue(ctx, taskKey{}, task)
}

// TaskOf is the task of a monologue's context.
func TaskOf(ctx context.Context) string {
	t, _ := ctx.Value(taskKey{}).(string)
	return t
}

// Busy reports whether a task is running.
func (c *Context) Busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// usage is the task a monologue belongs to and what its model calls
// used, shared by its agents.
type usage struct {
	task    string
	in, out int
	cost    money.Amount
}

// intervention takes the messages waiting for the running loop.
func (c *Context) intervention() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.interventions
	c.interventions = nil
	return out
}

// system renders the agent's system prompt.
func (a *Agent) system(tools []ToolSpec) (string, error) {
	superior := 0
	if a.Superior != nil {
		superior = a.Superior.Number
	}
	var b bytes.Buffer
	err := systemPrompt.Execute(&b, map[string]any{"Number": a.Number, "Superior": superior, "Tenant": a.ctx.cfg.Tenant,
		"Tools": tools, "Goals": a.ctx.cfg.Goals, "Budget": a.ctx.cfg.Budget})
	return b.String(), err
}

// monologue runs one message to its end: the message loop, step by step,
// until the response tool or a limit ends it.
func (a *Agent) monologue(ctx context.Context, message string, u *usage) Outcome {
	cfg := a.ctx.cfg
	for _, e := range cfg.Extensions {
		e.MonologueStart(ctx, a, message)
	}
	out := a.loop(ctx, message, u)
	out.InputTokens, out.OutputTokens, out.Cost = u.in, u.out, u.cost
	for _, e := range cfg.Extensions {
		e.MonologueEnd(ctx, a, out)
	}
	return out
}

func (a *Agent) loop(ctx context.Context, message string, u *usage) Outcome {
	cfg, lim := a.ctx.cfg, a.ctx.cfg.Limits
	a.History = append(a.History, Message{Role: RoleUser, Content: message})
	tools := append(cfg.Tools.Specs(), ownTools...)
	if cfg.Memory != nil {
		tools = append(tools, memoryTools...)
	}
	known := map[string]bool{}
	for _, t := range tools {
		known[t.Name] = true
	}
	system, err := a.system(tools)
	if err != nil {
		return Outcome{Ending: ModelFailed, Response: "the agent could not write its instructions: " + err.Error()}
	}
	end := func(e Ending, it int, format string, args ...any) Outcome {
		return Outcome{Ending: e, Iterations: it, Response: fmt.Sprintf(format, args...)}
	}
	last, repairs, modelErrors := "", 0, 0
	for it := 1; ; it++ {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return end(WallTime, it-1, "stopped: the task ran out of its time (%s) before it was done", lim.WallTime)
		case ctx.Err() != nil:
			return end(Canceled, it-1, "stopped: the task was cancelled")
		case it > lim.MaxIterations:
			return end(MaxIterations, it-1, "stopped: the task took %d steps, its limit, before it was done", lim.MaxIterations)
		}
		for _, m := range a.ctx.intervention() {
			a.History = append(a.History, Message{Role: RoleUser, Content: m})
		}
		p := Prompt{System: system, History: append([]Message(nil), a.History...), Tools: tools}
		for _, e := range cfg.Extensions {
			e.BeforeModel(ctx, a, &p)
		}
		ans, err := cfg.Model.Next(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				it-- // the same iteration ends on the context
				continue
			}
			if modelErrors++; modelErrors > 1 {
				return end(ModelFailed, it, "stopped: the model failed twice in a row: %v", err)
			}
			continue
		}
		modelErrors = 0
		u.in, u.out, u.cost = u.in+ans.InputTokens, u.out+ans.OutputTokens, u.cost+ans.Cost
		if lim.MaxTokens > 0 && u.in+u.out > lim.MaxTokens {
			return end(MaxTokens, it, "stopped: the task used %d tokens, over its limit of %d", u.in+u.out, lim.MaxTokens)
		}
		if lim.MaxCost > 0 && u.cost > lim.MaxCost {
			return end(MaxCost, it, "stopped: the task's model calls cost %s, over its limit of %s", u.cost, lim.MaxCost)
		}
		raw := ans.Text
		var reply Reply
		var perr error
		if ans.Call != nil {
			reply = *ans.Call
			if len(reply.Args) == 0 {
				reply.Args = json.RawMessage("{}")
			}
			b, _ := json.Marshal(reply)
			raw = string(b)
		} else {
			reply, perr = ParseReply(raw)
		}
		if raw == last {
			a.History = append(a.History, Message{Role: RoleUser, Content: "You gave the same reply as the step before. " +
				"Do not repeat it: read the last result and take the next step, or end with the response tool."})
			continue
		}
		last = raw
		a.History = append(a.History, Message{Role: RoleAssistant, Content: raw})
		step := Step{Agent: a.Number, Iteration: it, Raw: raw, Reply: reply}
		var result json.RawMessage
		var done *Outcome
		switch {
		case perr != nil:
			err = fmt.Errorf("your reply could not be read (%v): answer one JSON object with tool_name and tool_args", perr)
		case !known[reply.Tool]:
			err = fmt.Errorf("there is no tool %q: use one of the tools listed", reply.Tool)
		case reply.Tool == ToolResponse:
			var in struct {
				Text string `json:"text"`
			}
			if err = json.Unmarshal(reply.Args, &in); err == nil {
				done = &Outcome{Ending: Responded, Iterations: it, Response: in.Text}
			}
		case reply.Tool == ToolCallSubordinate:
			result, err = a.delegate(ctx, reply.Args, u)
		case reply.Tool == ToolMemorySave || reply.Tool == ToolMemoryLoad || reply.Tool == ToolMemoryForget:
			result, err = a.remember(ctx, reply.Tool, reply.Args)
		default:
			result, err = cfg.Tools.Call(ctx, Call{Task: u.task, Agent: a.Number, Iteration: it, Raw: raw, Reply: reply})
		}
		if err != nil {
			step.Observation = "error: " + err.Error()
			a.History = append(a.History, Message{Role: RoleTool, Tool: reply.Tool, Content: step.Observation})
		} else if done == nil {
			step.Result = result
			a.History = append(a.History, Message{Role: RoleTool, Tool: reply.Tool, Content: string(result)})
		}
		for _, e := range cfg.Extensions {
			e.AfterTool(ctx, a, step)
		}
		if done != nil {
			return *done
		}
		if err == nil {
			repairs = 0
			continue
		}
		if repairs++; repairs > lim.MaxRepairs {
			return end(MaxRepairs, it, "stopped: %d corrections in a row did not help; the last: %v", lim.MaxRepairs, err)
		}
	}
}

// delegate runs the subordinate's monologue on the message and answers
// its final response as the call's result.
func (a *Agent) delegate(ctx context.Context, args json.RawMessage, u *usage) (json.RawMessage, error) {
	var in struct {
		Message string `json:"message"`
		Reset   bool   `json:"reset"`
	}
	if err := json.Unmarshal(args, &in); err != nil || strings.TrimSpace(in.Message) == "" {
		return nil, errors.New("call_subordinate needs a message")
	}
	if a.Number+1 > a.ctx.cfg.Limits.MaxDepth {
		return nil, fmt.Errorf("agent %d may not call a subordinate: %d levels is the limit; do this part yourself", a.Number, a.ctx.cfg.Limits.MaxDepth)
	}
	if a.subordinate == nil || in.Reset {
		a.subordinate = &Agent{Number: a.Number + 1, Superior: a, ctx: a.ctx}
	}
	out := a.subordinate.monologue(ctx, in.Message, u)
	return json.Marshal(map[string]any{"response": out.Response, "ending": out.Ending})
}
