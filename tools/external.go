package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mcpclient"
)

// ToolCallExternal is the name of call_external_tool.
const ToolCallExternal = "call_external_tool"

// ExternalTool is a tool of an external MCP server a tenant named in
// agent.mcp_servers; package mcpclient, which reaches the servers, owns
// the notion.
type ExternalTool = mcpclient.Tool

// ExternalServers reach the external MCP servers of each tenant;
// mcpclient.Servers is one.
type ExternalServers interface {
	// Call calls tool on the tenant's server with args (a JSON object)
	// and answers its result as JSON.
	Call(ctx context.Context, tenantID, server, tool string, args json.RawMessage) (json.RawMessage, error)
	// List lists the tools of the tenant's servers; a server that cannot
	// be reached is left out, its error returned beside the others' tools.
	List(ctx context.Context, tenantID string) ([]ExternalTool, error)
}

// ExternalServices are what call_external_tool calls.
type ExternalServices struct {
	Servers ExternalServers
}

// RegisterExternal registers the external toolset.
func RegisterExternal(r *Registry, s ExternalServices) {
	registerToolset(r, ToolsetExternal, callExternalTool(s))
}

// CallExternalInput is the input of call_external_tool.
type CallExternalInput struct {
	Control
	Server    string                     `json:"server" jsonschema:"the external MCP server, by its name in agent.mcp_servers"`
	Tool      string                     `json:"tool" jsonschema:"the server's tool"`
	Arguments map[string]json.RawMessage `json:"arguments,omitempty" jsonschema:"the tool's arguments, as its input schema asks"`
}

// What a server's name and a tool's name may be: a server's as
// agent.mcp_servers allows, a tool's as MCP tools are named.
var (
	externalServer = regexp.MustCompile(`^[a-z][a-z0-9_]{1,30}$`)
	externalTool   = regexp.MustCompile(`^[A-Za-z0-9_.\-/]{1,128}$`)
)

// Validate implements Validator.
func (in *CallExternalInput) Validate() error {
	switch {
	case !externalServer.MatchString(in.Server):
		return fault.Invalid("server", "want the name of a server of agent.mcp_servers, got %q", in.Server)
	case !externalTool.MatchString(in.Tool):
		return fault.Invalid("tool", "want a tool name (letters, digits and _ . - /, at most 128), got %q", in.Tool)
	}
	return nil
}

func (in *CallExternalInput) args() (json.RawMessage, error) {
	if in.Arguments == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(in.Arguments)
	if err != nil {
		return nil, fault.Invalid("arguments", "cannot be encoded: %v", err)
	}
	return b, nil
}

// ExternalResult is the output of call_external_tool.
type ExternalResult struct {
	Server string          `json:"server"`
	Tool   string          `json:"tool"`
	Result json.RawMessage `json:"result" jsonschema:"what the tool answered: its structured content, else its text"`
}

func callExternalTool(s ExternalServices) Def[CallExternalInput, ExternalResult] {
	return Def[CallExternalInput, ExternalResult]{
		Name: ToolCallExternal, Title: "Call a tool of an external MCP server", Group: ToolsetExternal, MinRole: actor.RolePodAdmin,
		Destructive: true, OpenWorld: true,
		Description: "Call a tool of one of the external MCP servers the tenant named in agent.mcp_servers, with its arguments, and answer " +
			"what it returned. The platform cannot know what an outside tool changes, so every call is treated as destructive: a call " +
			"of the agent waits for an admin's approval under agent.approval destructive or always. It cannot be undone here.",
		Preview: func(ctx context.Context, c *Call, in *CallExternalInput) (Preview, error) {
			args, err := in.args()
			if err != nil {
				return Preview{}, err
			}
			return Preview{Effect: fmt.Sprintf("call %s on MCP server %s with %s", in.Tool, in.Server, clipText(string(args), 500))}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *CallExternalInput) (ExternalResult, error) {
			args, err := in.args()
			if err != nil {
				return ExternalResult{}, err
			}
			out, err := s.Servers.Call(ctx, c.Tenant.ID, in.Server, in.Tool, args)
			if err != nil {
				return ExternalResult{}, fmt.Errorf("call %s on MCP server %s: %w", in.Tool, in.Server, err)
			}
			return ExternalResult{Server: in.Server, Tool: in.Tool, Result: out}, nil
		},
	}
}

// clipText shortens s to at most n bytes for a sentence.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
