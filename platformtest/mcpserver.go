package platformtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gpubroker/pod/params"
)

// QuotaServer is an outside MCP server on loopback, of the kind a tenant
// names in agent.mcp_servers: lookup_quota answers a GPU's quota as text
// (and says it only reads), broken answers a tool error.
type QuotaServer struct {
	URL     string
	srv     *httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	headers http.Header
}

// NewQuotaServer starts a QuotaServer, stopped when the test ends.
func NewQuotaServer(t testing.TB) *QuotaServer {
	t.Helper()
	q := &QuotaServer{}
	s := server.NewMCPServer("quota", "1", server.WithToolCapabilities(false))
	s.AddTool(mcpgo.NewTool("lookup_quota", mcpgo.WithDescription("The GPU quota of a region."),
		mcpgo.WithString("gpu", mcpgo.Required(), mcpgo.Description("the GPU model")),
		mcpgo.WithReadOnlyHintAnnotation(true)),
		func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			q.calls.Add(1)
			return mcpgo.NewToolResultText(fmt.Sprintf("quota for %s: 8 GPUs", req.GetString("gpu", "?"))), nil
		})
	s.AddTool(mcpgo.NewTool("broken", mcpgo.WithDescription("Always fails.")),
		func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			return mcpgo.NewToolResultError("the quota backend is down"), nil
		})
	h := server.NewStreamableHTTPServer(s)
	q.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q.mu.Lock()
		q.headers = r.Header.Clone()
		q.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(q.srv.Close)
	q.URL = q.srv.URL + "/mcp"
	return q
}

// Calls is how many times lookup_quota ran.
func (q *QuotaServer) Calls() int { return int(q.calls.Load()) }

// Header is a header of the last request the server received.
func (q *QuotaServer) Header(name string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.headers.Get(name)
}

// Stop takes the server down: its address refuses connections.
func (q *QuotaServer) Stop() { q.srv.Close() }

// NameMCPServer names an outside MCP server in a tenant's
// agent.mcp_servers, with the headers it is sent (none when nil).
func (p *Platform) NameMCPServer(t testing.TB, tenantID, name, url string, headers map[string]string) {
	t.Helper()
	list, _ := json.Marshal([]params.MCPServer{{Name: name, URL: url}})
	set := map[string]string{params.ParamMCPServers: string(list)}
	if headers != nil {
		h, _ := json.Marshal(map[string]map[string]string{name: headers})
		set[params.ParamMCPHeaders] = string(h)
	}
	for key, v := range set {
		if _, err := p.Params.Set(context.Background(), Operator,
			params.SetRequest{Scope: params.Scope{TenantID: tenantID}, Key: key, Value: v, Confirm: tenantID}); err != nil {
			t.Fatal(err)
		}
	}
}
