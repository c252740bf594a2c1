package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// newAgents builds the runtime of the procurement agent: each admin's
// conversation acts for that admin through the registry, every call a
// decision; its model and limits are read from the tenant's parameters
// when a conversation begins, its model at every step.
func newAgents(reg *tools.Registry, decisions *decision.Service, ps *params.Service, tenants *tenant.Service, st *store.Store,
	external agent.ExternalTools, log *slog.Logger) *agent.Runtime {
	read := func(tenantID string) (*params.Snapshot, mode.Mode) {
		m := mode.Sandbox
		if t, err := tenants.Lookup(context.Background(), tenantID); err == nil {
			m = t.Mode
		}
		return ps.Snapshot(), m
	}
	return agent.NewRuntime(agent.RuntimeOptions{
		Log: log,
		Now: time.Now,
		Planner: func(tenantID string) string {
			s, m := read(tenantID)
			return s.String(tenantID, m, "agent.planner")
		},
		Config: func(admin actor.Actor) (agent.Config, error) {
			s, m := read(admin.TenantID)
			id := admin.TenantID
			return agent.Config{
				Tenant: id,
				Model: stepModel{pick: func() (agent.Model, error) {
					s, m := read(id)
					return modelOf(s, m, id, log)
				}},
				Tools: agent.Decided{RegistryTools: agent.RegistryTools{Registry: reg, Actor: agent.For(admin), External: external}, Decisions: decisions, Log: log,
					Pause: func() bool {
						s, m := read(id)
						return s.String(id, m, decision.ParamOnApproval) == decision.OnApprovalPause
					}},
				Limits: agent.Limits{MaxIterations: int(s.Int(id, m, "agent.max_iterations"))},
				Budget: budgetWords(tools.ParamLimits{Params: ps}.AgentBudget(id, m)),
				Memory: st,
				Actor:  admin.ID,
				Now:    time.Now,
			}, nil
		},
	})
}

// modelOf is the model a tenant's agent.planner names, with its fallback
// logged.
func modelOf(s *params.Snapshot, m mode.Mode, tenantID string, log *slog.Logger) (agent.Model, error) {
	model, err := agent.ModelFor(s, tenantID, m, time.Now)
	if f, ok := model.(*agent.Fallback); ok {
		f.Log = log
	}
	return model, err
}

// stepModel picks the model at every step, so a change of agent.planner
// reaches a conversation already begun.
type stepModel struct {
	pick func() (agent.Model, error)
}

func (m stepModel) Next(ctx context.Context, p agent.Prompt) (agent.Answer, error) {
	model, err := m.pick()
	if err != nil {
		return agent.Answer{}, err
	}
	return model.Next(ctx, p)
}

// budgetWords is the agent's budget as its system prompt says it.
func budgetWords(b policies.AgentBudget) string {
	word := func(a interface{ String() string }, zero bool) string {
		if zero {
			return "no limit"
		}
		return a.String()
	}
	return fmt.Sprintf("per action %s, per day %s, per month %s", word(b.PerAction, b.PerAction == 0), word(b.PerDay, b.PerDay == 0),
		word(b.PerMonth, b.PerMonth == 0))
}

// agentStream is the runtime's hub as the REST face follows it.
type agentStream struct{ hub *agent.Hub }

// Follow implements api.EventSource.
func (s agentStream) Follow(tenantID string, after int64) (<-chan api.Event, func()) {
	in, cancel := s.hub.Subscribe(tenantID, after)
	out := make(chan api.Event, 16)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for e := range in {
			data, err := json.Marshal(e)
			if err != nil {
				continue
			}
			select {
			case out <- api.Event{ID: e.ID, Type: e.Kind, Data: data}:
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			close(done)
			cancel()
		})
	}
}
