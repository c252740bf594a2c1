// Package mcp is the MCP face: every tool of the registry, with its input and
// output schemas and annotations, over streamable HTTP (mounted at /mcp
// behind bearer authentication) and over stdio (`gpubroker mcp`). A caller
// lists only the tools its role and tenant may use; a refused call is a tool
// error result that says why. No business rule lives here.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// NewServer builds an MCP server over every tool in reg.
func NewServer(reg *tools.Registry, version string, log *slog.Logger) *server.MCPServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hooks := &server.Hooks{}
	// Listing shows only what the caller may use; calls to a hidden tool
	// still reach the registry so the refusal says why.
	hooks.AddAfterListTools(func(ctx context.Context, _ any, _ *mcpgo.ListToolsRequest, res *mcpgo.ListToolsResult) {
		a, _ := actor.From(ctx)
		visible := map[string]bool{}
		for _, m := range reg.Visible(a) {
			visible[m.Name] = true
		}
		kept := res.Tools[:0]
		for _, t := range res.Tools {
			if visible[t.Name] {
				kept = append(kept, t)
			}
		}
		res.Tools = kept
	})
	s := server.NewMCPServer("gpubroker", version, server.WithToolCapabilities(false), server.WithHooks(hooks),
		server.WithInstructions("GPUBROKER POD: browse GPU offers, manage pods, parameters and tenants. Mutating tools accept dry_run to preview and confirm to confirm LIVE changes."))
	calls := new(atomic.Uint64)
	for _, m := range reg.Tools() {
		s.AddTool(toolOf(m), handler(reg, m.Name, calls, log))
	}
	return s
}

func toolOf(m tools.Meta) mcpgo.Tool {
	b := func(v bool) *bool { return &v }
	return mcpgo.Tool{
		Name:            m.Name,
		Title:           m.Title,
		Description:     m.Description,
		RawInputSchema:  m.InputSchema,
		RawOutputSchema: m.OutputSchema,
		Annotations: mcpgo.ToolAnnotation{Title: m.Title, ReadOnlyHint: b(m.ReadOnly), DestructiveHint: b(m.Destructive),
			IdempotentHint: b(m.Idempotent), OpenWorldHint: b(m.OpenWorld)},
	}
}

// ErrorInfo is the structured content of a refused or failed call.
type ErrorInfo struct {
	Kind    string          `json:"kind"`
	Message string          `json:"message"`
	Verdict string          `json:"verdict,omitempty"`
	Rule    policies.Rule   `json:"rule,omitempty"`
	Confirm string          `json:"confirm,omitempty"`
	Missing []string        `json:"missing,omitempty"`
	Errors  []fault.Problem `json:"errors,omitempty"`
	// ApprovalID names the stored call an admin must decide (with
	// approve_call or reject_call) when Kind is needs_approval.
	ApprovalID string     `json:"approval_id,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// errorInfo maps a call's error for MCP clients; this is the one place the
// MCP face does so.
func errorInfo(res tools.Result) ErrorInfo {
	info := ErrorInfo{Kind: "internal", Message: "the call failed", Verdict: string(res.Verdict.Decision), Rule: res.Verdict.Rule}
	var ref *tools.Refusal
	switch fe, ok := fault.As(res.Err); {
	case errors.As(res.Err, &ref):
		info.Kind, info.Message, info.Confirm = string(ref.Verdict.Decision), ref.Verdict.Reason, ref.Verdict.Confirm
		if ref.Approval != nil {
			info.ApprovalID, info.ExpiresAt = ref.Approval.ID, &ref.Approval.ExpiresAt
		}
	case ok:
		info.Kind, info.Message, info.Confirm, info.Missing, info.Errors = string(fe.Kind), fe.Error(), fe.Confirm, fe.Missing, fe.Problems
	}
	return info
}

func handler(reg *tools.Registry, name string, calls *atomic.Uint64, log *slog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		a, ok := actor.From(ctx)
		if !ok {
			return mcpgo.NewToolResultError("unauthenticated: no caller on this session"), nil
		}
		raw, err := json.Marshal(req.GetRawArguments())
		if err != nil || string(raw) == "null" {
			raw = []byte("{}")
		}
		res := reg.Call(ctx, tools.Request{Actor: a, Face: audit.FaceMCP, RequestID: requestID(ctx, calls), Tool: name, Input: raw})
		if res.Err != nil {
			info := errorInfo(res)
			if info.Kind == "internal" {
				log.Error("mcp tool call failed", "tool", name, "err", res.Err)
			}
			r := mcpgo.NewToolResultError(info.Message)
			r.StructuredContent = info
			return r, nil
		}
		text, err := json.Marshal(res.Output)
		if err != nil {
			return nil, err
		}
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent(string(text))},
			RawStructuredContent: text}, nil
	}
}

// HTTPHandler serves the server over streamable HTTP. Mount it behind the
// bearer authentication that puts the actor in the request context.
func HTTPHandler(s *server.MCPServer) http.Handler {
	return server.NewStreamableHTTPServer(s, server.WithEndpointPath("/mcp"),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			// Each tools/call arrives in its own POST: its request id is
			// the one the HTTP log line and the audit record share.
			if id := middleware.GetReqID(r.Context()); id != "" {
				ctx = context.WithValue(ctx, middleware.RequestIDKey, id)
			}
			if a, ok := actor.From(r.Context()); ok {
				return actor.With(ctx, a)
			}
			return ctx
		}))
}

// requestID is the id of the HTTP request carrying the call, or over stdio
// (no HTTP request) one naming the session and numbering its calls.
func requestID(ctx context.Context, stdioCalls *atomic.Uint64) string {
	if id := middleware.GetReqID(ctx); id != "" {
		return id
	}
	session := "stdio"
	if s := server.ClientSessionFromContext(ctx); s != nil && s.SessionID() != "" {
		session = s.SessionID()
	}
	return fmt.Sprintf("mcp-%s-%06d", session, stdioCalls.Add(1))
}

// ServeStdio serves the server on in/out as the given actor until ctx ends
// or in closes.
func ServeStdio(ctx context.Context, s *server.MCPServer, a actor.Actor, in io.Reader, out io.Writer) error {
	st := server.NewStdioServer(s)
	st.SetContextFunc(func(ctx context.Context) context.Context { return actor.With(ctx, a) })
	return st.Listen(actor.With(ctx, a), in, out)
}
