package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tools"
)

// Runtime runs the procurement agent of every tenant on this instance:
// one conversation per admin, the autonomous runs an admin started, the
// news of decided decisions, and the stream of steps. It implements
// tools.Agents, so the control tools reach it.
type Runtime struct {
	opts RuntimeOptions
	// Stream carries every step of every task, per tenant.
	Stream *Hub

	life context.Context
	end  context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	tenants map[string]*tenantRun
}

// RuntimeOptions are what a Runtime runs with.
type RuntimeOptions struct {
	// Config builds the configuration of an admin's conversation: the
	// model, the tools (acting for the admin), limits and memory.
	Config func(admin actor.Actor) (Config, error)
	// Planner names the model a tenant's agent uses (agent.planner).
	Planner func(tenantID string) string
	Now     func() time.Time
	Log     *slog.Logger
}

// tenantRun is one tenant's agent.
type tenantRun struct {
	convs map[string]*Context
	auto  *autonomous
	busy  string // the task under way
	last  *tools.AgentOutcome
}

// autonomous is an admin's standing order: work on goals every interval.
type autonomous struct {
	admin    actor.Actor
	goals    []string
	interval time.Duration
	started  time.Time
	stop     context.CancelFunc
	done     chan struct{}
}

// NewRuntime returns a runtime; Close stops its tasks.
func NewRuntime(o RuntimeOptions) *Runtime {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Planner == nil {
		o.Planner = func(string) string { return "builtin" }
	}
	life, end := context.WithCancel(context.Background())
	return &Runtime{opts: o, Stream: NewHub(256), life: life, end: end, tenants: map[string]*tenantRun{}}
}

// Close stops the autonomous runs and the tasks under way and waits for
// them.
func (r *Runtime) Close() {
	r.end()
	r.wg.Wait()
}

func (r *Runtime) tenant(id string) *tenantRun {
	t := r.tenants[id]
	if t == nil {
		t = &tenantRun{convs: map[string]*Context{}}
		r.tenants[id] = t
	}
	return t
}

// conv is admin's conversation, begun on first use.
func (r *Runtime) conv(admin actor.Actor) (*Context, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenant(admin.TenantID)
	if c := t.convs[admin.ID]; c != nil {
		return c, nil
	}
	cfg, err := r.opts.Config(admin)
	if err != nil {
		return nil, err
	}
	cfg.Extensions = append(cfg.Extensions, streaming{hub: r.Stream, tenant: admin.TenantID, now: r.opts.Now})
	c := NewContext(cfg)
	t.convs[admin.ID] = c
	return c, nil
}

// State implements tools.Agents.
func (r *Runtime) State(tenantID string) tools.AgentState {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenant(tenantID)
	s := tools.AgentState{Busy: t.busy != "", Task: t.busy, Planner: r.opts.Planner(tenantID), LastRun: t.last}
	if a := t.auto; a != nil {
		started := a.started
		s.Running, s.Goals, s.Interval, s.AdminID, s.StartedAt = true, a.goals, a.interval.String(), a.admin.ID, &started
	}
	return s
}

// Start implements tools.Agents: the first run begins at once.
func (r *Runtime) Start(_ context.Context, admin actor.Actor, goals []string, interval time.Duration) (tools.AgentState, error) {
	if admin.Role != actor.RolePodAdmin {
		return tools.AgentState{}, fault.Forbidden("only a POD Admin starts the agent")
	}
	if _, err := r.conv(admin); err != nil {
		return tools.AgentState{}, err
	}
	r.stop(admin.TenantID)
	ctx, stop := context.WithCancel(r.life)
	a := &autonomous{admin: admin, goals: append([]string(nil), goals...), interval: interval, started: r.opts.Now().UTC(), stop: stop,
		done: make(chan struct{})}
	r.mu.Lock()
	r.tenant(admin.TenantID).auto = a
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(a.done)
		r.pursue(ctx, a)
	}()
	return r.State(admin.TenantID), nil
}

// pursue runs a task on the goals now and every interval until stopped;
// a tick that finds the admin's conversation busy is skipped.
func (r *Runtime) pursue(ctx context.Context, a *autonomous) {
	msg := "Work on the tenant's goals now: " + strings.Join(a.goals, "; ")
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		if _, err := r.run(ctx, a.admin, "", msg); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
			r.opts.Log.Warn("the agent's autonomous run", "tenant", a.admin.TenantID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stop ends a tenant's autonomous runs and waits for the one under way.
func (r *Runtime) stop(tenantID string) {
	r.mu.Lock()
	t := r.tenant(tenantID)
	a := t.auto
	t.auto = nil
	r.mu.Unlock()
	if a != nil {
		a.stop()
		<-a.done
	}
}

// Stop implements tools.Agents.
func (r *Runtime) Stop(_ context.Context, tenantID string) (tools.AgentState, error) {
	r.stop(tenantID)
	return r.State(tenantID), nil
}

// Send implements tools.Agents. A task outlives the request that started
// it (up to its wall time, or the runtime's end): a client that goes away
// does not cut it off mid-step.
func (r *Runtime) Send(ctx context.Context, admin actor.Actor, message string, wait bool) (tools.AgentReply, error) {
	c, err := r.conv(admin)
	if err != nil {
		return tools.AgentReply{}, err
	}
	if c.Intervene(message) {
		return tools.AgentReply{Intervention: true}, nil
	}
	task, err := NewTask()
	if err != nil {
		return tools.AgentReply{}, err
	}
	if !wait {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if _, err := r.run(r.life, admin, task, message); err != nil && !errors.Is(err, ErrBusy) {
				r.opts.Log.Warn("the agent's task", "tenant", admin.TenantID, "task", task, "err", err)
			}
		}()
		return tools.AgentReply{Task: task}, nil
	}
	type ended struct {
		out *tools.AgentOutcome
		err error
	}
	done := make(chan ended, 1)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		out, err := r.run(r.life, admin, task, message)
		done <- ended{out, err}
	}()
	select {
	case e := <-done:
		if errors.Is(e.err, ErrBusy) {
			return tools.AgentReply{Intervention: true}, nil
		}
		return tools.AgentReply{Task: task, Outcome: e.out}, e.err
	case <-ctx.Done():
		// The task goes on; its steps stream and agent_status shows how
		// it ended.
		return tools.AgentReply{Task: task}, nil
	}
}

// run runs one task of admin's conversation and keeps how it ended.
func (r *Runtime) run(ctx context.Context, admin actor.Actor, task, message string) (*tools.AgentOutcome, error) {
	c, err := r.conv(admin)
	if err != nil {
		return nil, err
	}
	if task == "" {
		if task, err = NewTask(); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	t := r.tenant(admin.TenantID)
	if t.busy != "" {
		// One task at a time per tenant: a message to the conversation
		// working is its intervention; any other waits its turn.
		busy := t.busy
		r.mu.Unlock()
		if c.Intervene(message) {
			return nil, ErrBusy
		}
		return nil, fault.Conflict("the agent is working on task %s for another admin: try again when it is done", busy)
	}
	t.busy = task
	r.mu.Unlock()
	o, err := c.Run(ctx, task, message)
	r.mu.Lock()
	defer r.mu.Unlock()
	t.busy = ""
	if err != nil {
		return nil, err
	}
	out := &tools.AgentOutcome{Task: o.Task, Ending: string(o.Ending), Response: o.Response, Iterations: o.Iterations,
		Tokens: o.InputTokens + o.OutputTokens, Cost: o.Cost, EndedAt: r.opts.Now().UTC()}
	t.last = out
	return out, nil
}

// Told implements tools.Agents: the conversation of the admin the
// decision was made for hears what became of it.
func (r *Runtime) Told(d decision.Decision) {
	r.mu.Lock()
	c := r.tenant(d.TenantID).convs[d.AdminID]
	r.mu.Unlock()
	if c != nil {
		c.Tell(OutcomeOf(d))
	}
	r.Stream.Publish(d.TenantID, StreamEvent{Kind: "decided", Task: d.TaskID, Tool: d.Tool, Decision: d.ID, Status: string(d.Status),
		Observation: OutcomeOf(d), At: r.opts.Now().UTC()})
}

// ReadReply implements tools.Agents: the recorded reply read as the loop
// reads one.
func (r *Runtime) ReadReply(raw string) (string, json.RawMessage, error) {
	rep, err := ParseReply(raw)
	if err != nil {
		return "", nil, err
	}
	if rep.Tool == "" {
		return "", nil, fmt.Errorf("the reply names no tool")
	}
	if len(rep.Args) == 0 {
		rep.Args = json.RawMessage("{}")
	}
	return rep.Tool, rep.Args, nil
}

var _ tools.Agents = (*Runtime)(nil)
