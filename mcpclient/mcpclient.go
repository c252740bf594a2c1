// Package mcpclient reaches the external MCP servers a tenant names in
// agent.mcp_servers: it lists their tools and calls them over Streamable
// HTTP, with the headers of agent.mcp_headers, a timeout on every call,
// and a tool's result turned into JSON. It reads the tenant's servers at
// every call, so a change of the parameters reaches the next one.
//
// It decides nothing about whether a call may be made: the tools registry
// (call_external_tool) holds that, like for every other tool.
package mcpclient

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// Server is one external MCP server of a tenant: its name, its Streamable
// HTTP endpoint and the headers sent to it.
type Server struct {
	Name    string
	URL     string
	Headers map[string]string
}

// ServersFrom reads a tenant's external MCP servers in mode m: the list of
// agent.mcp_servers with each server's headers from agent.mcp_headers.
func ServersFrom(s *params.Snapshot, tenantID string, m mode.Mode) ([]Server, error) {
	list, err := params.ParseMCPServers(s.String(tenantID, m, params.ParamMCPServers))
	if err != nil {
		return nil, fmt.Errorf("read %s of tenant %s: %w", params.ParamMCPServers, tenantID, err)
	}
	headers, err := params.ParseMCPHeaders(s.String(tenantID, m, params.ParamMCPHeaders))
	if err != nil {
		return nil, fmt.Errorf("read %s of tenant %s: %w", params.ParamMCPHeaders, tenantID, err)
	}
	out := make([]Server, len(list))
	for i, sv := range list {
		out[i] = Server{Name: sv.Name, URL: sv.URL, Headers: headers[sv.Name]}
	}
	return out, nil
}

// Tool is a tool of an external MCP server, as the server describes it.
type Tool struct {
	Server      string          `json:"server"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	// ReadOnly is the server's own hint; nothing here trusts it.
	ReadOnly bool `json:"read_only"`
}

// ToolError is the answer of an outside tool that reports it failed.
type ToolError struct {
	Server, Tool, Message string
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("tool %s of MCP server %s answered an error: %s", e.Tool, e.Server, e.Message)
}

// Defaults of Options.
const (
	DefaultTimeout = 30 * time.Second
	DefaultListTTL = time.Minute
	// MaxResult bounds a tool's result as JSON: the agent reads it and
	// its decision keeps it.
	MaxResult = 256 << 10
)

// Options configure Servers.
type Options struct {
	// Servers reads a tenant's servers now (ServersFrom over the current
	// parameters in the tenant's mode). Required.
	Servers func(ctx context.Context, tenantID string) ([]Server, error)
	// Timeout bounds each call to a server, connecting included
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// ListTTL is how long a server's list of tools is reused
	// (DefaultListTTL when 0).
	ListTTL time.Duration
	// Transport carries the HTTP requests (http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Version is the platform's, told to the servers.
	Version string
	Log     *slog.Logger
	Now     func() time.Time
}

// Servers are the initialized clients of the tenants' external MCP
// servers, one per tenant and server, replaced when the server's URL or
// headers change and closed when it leaves the tenant's list. It is safe
// for concurrent use.
type Servers struct {
	opt    Options
	mu     sync.Mutex
	conns  map[connKey]*conn
	closed bool
}

type connKey struct{ tenant, server string }

// conn is one server's client; mu serialises its start so concurrent
// calls share one connection.
type conn struct {
	server Server
	digest string
	mu     sync.Mutex
	c      *client.Client
	tools  []Tool
	listed time.Time
}

// New returns Servers reading each tenant's list through opt.Servers.
func New(opt Options) *Servers {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.ListTTL <= 0 {
		opt.ListTTL = DefaultListTTL
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Version == "" {
		opt.Version = "dev"
	}
	return &Servers{opt: opt, conns: map[connKey]*conn{}}
}

// List lists the tools of every server of the tenant, in the order the
// servers are named. A server that cannot be reached is left out and
// logged, and its error joins the one returned beside the tools of the
// others.
func (s *Servers) List(ctx context.Context, tenantID string) ([]Tool, error) {
	conns, err := s.sync(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	lists := make([][]Tool, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	// At most params.MaxMCPServers at once: the list is bounded.
	for i, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lists[i], errs[i] = s.tools(ctx, tenantID, cn)
			if errs[i] != nil {
				s.opt.Log.Warn("list the tools of an external MCP server", "tenant", tenantID, "server", cn.server.Name, "err", errs[i])
			}
		}()
	}
	wg.Wait()
	var out []Tool
	for _, l := range lists {
		out = append(out, l...)
	}
	return out, errors.Join(errs...)
}

// Call calls tool on the tenant's server with args (a JSON object) and
// answers its result as JSON: the structured content when the tool gives
// one, else its text (a string, or a list of them).
func (s *Servers) Call(ctx context.Context, tenantID, server, tool string, args json.RawMessage) (json.RawMessage, error) {
	conns, err := s.sync(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(conns, func(cn *conn) bool { return cn.server.Name == server })
	if i < 0 {
		return nil, fault.NotFound("MCP server (agent.mcp_servers)", server)
	}
	cn := conns[i]
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	c, err := s.client(ctx, cn)
	if err != nil {
		return nil, err
	}
	req := mcpgo.CallToolRequest{}
	req.Params.Name = tool
	if len(args) > 0 {
		req.Params.Arguments = args
	}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		s.drop(cn, c)
		return nil, unreachable(cn.server.Name, "call "+tool, err)
	}
	out, text := resultJSON(res)
	if res.IsError {
		return nil, &ToolError{Server: server, Tool: tool, Message: clip(text, 2000)}
	}
	if len(out) > MaxResult {
		return nil, fault.Unavailable("tool %s of MCP server %s answered %d bytes, more than the %d a result may have", tool, server, len(out), MaxResult)
	}
	return out, nil
}

// Close closes every client; calls after it fail.
func (s *Servers) Close() {
	s.mu.Lock()
	conns := s.conns
	s.conns, s.closed = map[connKey]*conn{}, true
	s.mu.Unlock()
	for _, cn := range conns {
		cn.close()
	}
}

// sync reads the tenant's servers and answers their conns, closing those
// of servers gone from the list or changed.
func (s *Servers) sync(ctx context.Context, tenantID string) ([]*conn, error) {
	list, err := s.opt.Servers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	want := make(map[string]Server, len(list))
	for _, sv := range list {
		want[sv.Name] = sv
	}
	var stale []*conn
	out := make([]*conn, 0, len(list))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fault.Unavailable("the MCP clients are closed")
	}
	for k, cn := range s.conns {
		if sv, ok := want[k.server]; k.tenant == tenantID && (!ok || digest(sv) != cn.digest) {
			stale = append(stale, cn)
			delete(s.conns, k)
		}
	}
	for _, sv := range list {
		k := connKey{tenantID, sv.Name}
		cn := s.conns[k]
		if cn == nil {
			cn = &conn{server: sv, digest: digest(sv)}
			s.conns[k] = cn
		}
		out = append(out, cn)
	}
	s.mu.Unlock()
	for _, cn := range stale {
		cn.close()
	}
	return out, nil
}

// tools answers a server's tools, listed anew once the last list is older
// than ListTTL.
func (s *Servers) tools(ctx context.Context, tenantID string, cn *conn) ([]Tool, error) {
	cn.mu.Lock()
	fresh := cn.c != nil && s.opt.Now().Sub(cn.listed) < s.opt.ListTTL
	tools := cn.tools
	cn.mu.Unlock()
	if fresh {
		return tools, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	c, err := s.client(ctx, cn)
	if err != nil {
		return nil, err
	}
	res, err := c.ListTools(ctx, mcpgo.ListToolsRequest{})
	if err != nil {
		s.drop(cn, c)
		return nil, unreachable(cn.server.Name, "list tools", err)
	}
	tools = make([]Tool, 0, len(res.Tools))
	for _, t := range res.Tools {
		schema := t.RawInputSchema
		if len(schema) == 0 {
			if schema, err = json.Marshal(t.InputSchema); err != nil {
				return nil, fmt.Errorf("read the schema of tool %s of MCP server %s: %w", t.Name, cn.server.Name, err)
			}
		}
		ro := t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint
		tools = append(tools, Tool{Server: cn.server.Name, Name: t.Name, Description: t.Description, InputSchema: schema, ReadOnly: ro})
	}
	cn.mu.Lock()
	if cn.c == c {
		cn.tools, cn.listed = tools, s.opt.Now()
	}
	cn.mu.Unlock()
	return tools, nil
}

// client answers the conn's started and initialized client, starting one
// when it has none.
func (s *Servers) client(ctx context.Context, cn *conn) (*client.Client, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.c != nil {
		return cn.c, nil
	}
	hc := &http.Client{Timeout: s.opt.Timeout, Transport: s.opt.Transport}
	c, err := client.NewStreamableHttpClient(cn.server.URL, transport.WithHTTPBasicClient(hc),
		transport.WithHTTPHeaders(cn.server.Headers), transport.WithHTTPLogger(s.opt.Log))
	if err != nil {
		return nil, fmt.Errorf("MCP server %s: %w", cn.server.Name, err)
	}
	if err := c.Start(ctx); err != nil {
		_ = c.Close()
		return nil, unreachable(cn.server.Name, "connect", err)
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcpgo.Implementation{Name: "gpubroker", Version: s.opt.Version}
	if _, err := c.Initialize(ctx, init); err != nil {
		_ = c.Close()
		return nil, unreachable(cn.server.Name, "initialize", err)
	}
	cn.c, cn.tools, cn.listed = c, nil, time.Time{}
	return c, nil
}

// drop forgets a client that failed, so the next call connects afresh
// (the server restarted, its session expired), unless another call
// already replaced it.
func (s *Servers) drop(cn *conn, c *client.Client) {
	cn.mu.Lock()
	if cn.c == c {
		cn.c = nil
	}
	cn.mu.Unlock()
	_ = c.Close()
}

func (cn *conn) close() {
	cn.mu.Lock()
	c := cn.c
	cn.c = nil
	cn.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// digest identifies what a client was built from; a change of URL or
// headers makes a new one.
func digest(sv Server) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", sv.URL)
	keys := make([]string, 0, len(sv.Headers))
	for k := range sv.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, sv.Headers[k])
	}
	return string(h.Sum(nil))
}

// unreachable is the error of a server that did not answer as MCP.
func unreachable(server, what string, err error) error {
	return fault.Unavailable("MCP server %s: %s: %v", server, what, err)
}

// resultJSON is a tool result as JSON, and its text for an error message.
func resultJSON(res *mcpgo.CallToolResult) (json.RawMessage, string) {
	var texts []string
	for _, c := range res.Content {
		if t, ok := mcpgo.AsTextContent(c); ok {
			texts = append(texts, t.Text)
		} else {
			texts = append(texts, fmt.Sprintf("[%T content not shown]", c))
		}
	}
	text := strings.Join(texts, "\n")
	if len(res.RawStructuredContent) > 0 {
		return res.RawStructuredContent, text
	}
	var out json.RawMessage
	var err error
	if len(texts) == 1 {
		out, err = json.Marshal(texts[0])
	} else {
		out, err = json.Marshal(texts)
	}
	if err != nil {
		// A string or a list of strings always encodes.
		return json.RawMessage("null"), text
	}
	return out, text
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
