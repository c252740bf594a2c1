package mcp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/mcp"
	"github.com/gpubroker/pod/platformtest"
)

func serve(t *testing.T, p *platformtest.Platform) string {
	t.Helper()
	srv := mcp.NewServer(p.Registry, "test", nil)
	h := api.NewRouter(api.Deps{Health: p.Store, Tools: p.Registry, Auth: p.Tokens, Mount: func(r chi.Router) {
		r.With(api.Authenticate(p.Tokens, nil)).Handle("/mcp", mcp.HTTPHandler(srv))
	}})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL + "/mcp"
}

func connect(t *testing.T, url, token string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcpgo.Implementation{Name: "test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

func call(t *testing.T, c *client.Client, name string, args map[string]any) *mcpgo.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcpgo.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return res
}

func TestMCPOverStreamableHTTP(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	url := serve(t, p)
	ctx := context.Background()

	t.Run("a request without a token is refused before MCP", func(t *testing.T) {
		c, _ := client.NewStreamableHttpClient(url)
		defer c.Close()
		_ = c.Start(ctx)
		init := mcpgo.InitializeRequest{}
		init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
		if _, err := c.Initialize(ctx, init); err == nil {
			t.Fatal("initialize without a token succeeded")
		}
	})
	admin := connect(t, url, "acme-admin")
	user := connect(t, url, "acme-user")

	t.Run("each caller lists only the tools it may use, with schemas and annotations", func(t *testing.T) {
		lr, err := user.ListTools(ctx, mcpgo.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range lr.Tools {
			if tool.Name == "set_parameter" || tool.Name == "create_tenant" {
				t.Fatalf("a user sees %s", tool.Name)
			}
		}
		lr, _ = admin.ListTools(ctx, mcpgo.ListToolsRequest{})
		var set *mcpgo.Tool
		for i := range lr.Tools {
			if lr.Tools[i].Name == "set_parameter" {
				set = &lr.Tools[i]
			}
			if lr.Tools[i].Name == "create_tenant" {
				t.Fatal("a tenant admin sees a platform tool")
			}
		}
		if set == nil {
			t.Fatal("the admin does not see set_parameter")
		}
		b, _ := json.Marshal(set)
		for _, want := range []string{`"inputSchema"`, `"outputSchema"`, `"readOnlyHint":false`, `"dry_run"`, `"confirm"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("set_parameter lacks %s: %s", want, b)
			}
		}
	})
	t.Run("a read-only call returns structured content", func(t *testing.T) {
		res := call(t, admin, "get_parameter", map[string]any{"key": "billing.markup_percent"})
		if res.IsError {
			t.Fatalf("error: %+v", res.Content)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(string(b), `"key":"billing.markup_percent"`) {
			t.Fatalf("structured content = %s", b)
		}
	})
	t.Run("a refused call is a tool error that says why", func(t *testing.T) {
		res := call(t, user, "set_parameter", map[string]any{"key": "billing.markup_percent", "value": "20"})
		text := res.Content[0].(mcpgo.TextContent).Text
		if !res.IsError || !strings.Contains(text, "pod_admin") {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("a confirmation request carries the phrase", func(t *testing.T) {
		res := call(t, admin, "set_parameter", map[string]any{"tenant": "acme", "key": "billing.markup_percent", "value": "20"})
		b, _ := json.Marshal(res.StructuredContent)
		if !res.IsError || !strings.Contains(string(b), `"confirm":"acme"`) {
			t.Fatalf("result = %s", b)
		}
		res = call(t, admin, "set_parameter", map[string]any{"tenant": "acme", "key": "billing.markup_percent", "value": "20", "confirm": "acme"})
		if res.IsError {
			t.Fatalf("confirmed call failed: %+v", res.Content)
		}
	})
	t.Run("bad input is a tool error naming the field", func(t *testing.T) {
		res := call(t, admin, "set_parameter", map[string]any{"key": "billing.markup_percent", "value": "1", "colour": "red"})
		b, _ := json.Marshal(res.StructuredContent)
		if !res.IsError || !strings.Contains(string(b), `"field":"colour"`) {
			t.Fatalf("result = %s", b)
		}
	})
	t.Run("MCP calls are audited with face mcp and the id of the request that carried each", func(t *testing.T) {
		p.Audit.Flush()
		recs, _ := p.Store.QueryAudit(ctx, audit.Filter{Action: "set_parameter"})
		n := 0
		ids := map[string]bool{}
		for _, r := range recs {
			if r.Face == audit.FaceMCP {
				n++
				if r.RequestID == "" || ids[r.RequestID] {
					t.Errorf("record %d has request id %q: want one of its own", r.ID, r.RequestID)
				}
				ids[r.RequestID] = true
			}
		}
		if n != 4 {
			t.Fatalf("%d MCP set_parameter records, want 4", n)
		}
	})
}
