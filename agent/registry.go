package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/tools"
)

// Caller runs calls through the guarded tool pipeline; tools.Registry
// is one.
type Caller interface {
	Visible(a actor.Actor) []tools.Meta
	Tool(name string) (tools.Meta, bool)
	Call(ctx context.Context, req tools.Request) tools.Result
}

// For is the agent acting for admin: its calls are the agent's (kind
// agent, face agent in the audit log) and carry the admin's id, so what
// it deploys is the admin's and every policy that holds for the admin
// holds for it, and more (its spending waits for approval).
func For(admin actor.Actor) actor.Actor {
	return actor.Actor{Kind: actor.KindAgent, ID: admin.ID, TenantID: admin.TenantID, Role: admin.Role, Name: "agent for " + admin.ID}
}

// Toolsets are the platform's tools the agent works with: offers,
// providers and prices, pods and the fleet, telling its admins
// (notify_admin), and, to read only, parameters and usage and cost.
func Toolsets(m tools.Meta) bool {
	switch m.Group {
	case tools.ToolsetOffers, tools.ToolsetPods, tools.ToolsetNotify:
		return true
	case tools.ToolsetParameters:
		return m.ReadOnly
	case tools.ToolsetBilling:
		return m.Name == tools.ToolUsageSummary || m.Name == tools.ToolCostBreakdown
	}
	return false
}

// RegistryTools are the platform's tools as the agent acting for an admin
// has them: those of its toolsets the registry shows that actor, each
// call made through the registry's pipeline (validation, policies,
// budget, approvals, audit).
type RegistryTools struct {
	Registry Caller
	Actor    actor.Actor
	// Allowed picks the agent's tools (Toolsets when nil).
	Allowed func(tools.Meta) bool
}

// Specs implements Tools.
func (r RegistryTools) Specs() []ToolSpec {
	allowed := r.Allowed
	if allowed == nil {
		allowed = Toolsets
	}
	var out []ToolSpec
	for _, m := range r.Registry.Visible(r.Actor) {
		if allowed(m) {
			out = append(out, ToolSpec{Name: m.Name, Description: m.Description, Schema: m.InputSchema})
		}
	}
	return out
}

// Call implements Tools: the registry's answer, or its refusal or error
// as the observation the model reads.
func (r RegistryTools) Call(ctx context.Context, c Call) (json.RawMessage, error) {
	res := r.run(ctx, c.Reply.Tool, c.Reply.Args)
	return res.output, res.Err
}

// ran is a registry call's outcome with its output encoded.
type ran struct {
	tools.Result
	output json.RawMessage
}

func (r RegistryTools) run(ctx context.Context, name string, args json.RawMessage) ran {
	res := r.Registry.Call(ctx, tools.Request{Actor: r.Actor, Face: audit.FaceAgent, Tool: name, Input: args})
	out := ran{Result: res}
	if res.Err == nil {
		b, err := json.Marshal(res.Output)
		if err != nil {
			out.Err = fmt.Errorf("the result of %s cannot be shown: %w", name, err)
		}
		out.output = b
	}
	return out
}
