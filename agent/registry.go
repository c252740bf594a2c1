package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

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
// (notify_admin), the tools of the tenant's outside MCP servers, and, to
// read only, parameters and usage and cost.
func Toolsets(m tools.Meta) bool {
	switch m.Group {
	case tools.ToolsetOffers, tools.ToolsetPods, tools.ToolsetNotify, tools.ToolsetExternal:
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
	// External lists the tools of the tenant's outside MCP servers. When
	// the agent has call_external_tool, each is shown to the model as
	// <server>__<tool> and a call of it is made as call_external_tool.
	// Optional.
	External ExternalTools
}

// ExternalTools lists the tools of a tenant's outside MCP servers;
// tools.ExternalServers is one.
type ExternalTools interface {
	List(ctx context.Context, tenantID string) ([]tools.ExternalTool, error)
}

// externalSep joins a server's name and its tool's into the name the
// model calls; a server's name holds no double underscore, so the first
// one splits them.
const externalSep = "__"

// listTimeout bounds listing the outside tools when a task begins.
const listTimeout = 30 * time.Second

// modelToolName is what the model APIs accept as a tool's name; an
// outside tool whose name does not fit is not shown.
var modelToolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Specs implements Tools.
func (r RegistryTools) Specs() []ToolSpec {
	allowed := r.Allowed
	if allowed == nil {
		allowed = Toolsets
	}
	var out []ToolSpec
	external := false
	for _, m := range r.Registry.Visible(r.Actor) {
		if allowed(m) {
			out = append(out, ToolSpec{Name: m.Name, Description: m.Description, Schema: m.InputSchema})
			external = external || m.Name == tools.ToolCallExternal
		}
	}
	if external && r.External != nil {
		out = append(out, r.externalSpecs()...)
	}
	return out
}

// externalSpecs are the tools of the tenant's outside servers as the
// model sees them. A server that cannot be listed is left out (the
// lister says why); the others' tools are shown.
func (r RegistryTools) externalSpecs() []ToolSpec {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	list, _ := r.External.List(ctx, r.Actor.TenantID)
	var out []ToolSpec
	for _, t := range list {
		name := t.Server + externalSep + t.Name
		if _, clash := r.Registry.Tool(name); clash || !modelToolName.MatchString(name) {
			continue
		}
		schema := t.InputSchema
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		out = append(out, ToolSpec{Name: name, Description: "[external MCP server " + t.Server + "] " + t.Description, Schema: schema})
	}
	return out
}

// resolve is the registry call a model's call of name with args makes: a
// tool of an outside server (<server>__<tool>) is call_external_tool with
// the model's arguments; any other name is itself.
func (r RegistryTools) resolve(name string, args json.RawMessage) (string, json.RawMessage) {
	if r.External == nil {
		return name, args
	}
	if _, known := r.Registry.Tool(name); known {
		return name, args
	}
	server, tool, ok := strings.Cut(name, externalSep)
	if !ok || server == "" || tool == "" {
		return name, args
	}
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	wrapped, err := json.Marshal(struct {
		Server    string          `json:"server"`
		Tool      string          `json:"tool"`
		Arguments json.RawMessage `json:"arguments"`
	}{server, tool, args})
	if err != nil {
		// Arguments that are not JSON: the registry refuses the call as
		// the model made it.
		return name, args
	}
	return tools.ToolCallExternal, wrapped
}

// Call implements Tools: the registry's answer, or its refusal or error
// as the observation the model reads.
func (r RegistryTools) Call(ctx context.Context, c Call) (json.RawMessage, error) {
	name, args := r.resolve(c.Reply.Tool, c.Reply.Args)
	res := r.run(ctx, name, args)
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
