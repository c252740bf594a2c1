package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// mintToken runs `gpubroker token create` against data and returns the
// token, which the command prints as its last line.
func mintToken(t *testing.T, data, role string) string {
	t.Helper()
	cmd := exec.Command(binary, "token", "create", "--role", role, "--name", "e2e-"+role)
	cmd.Env = env(data)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token create: %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, "gpb_") {
		t.Fatalf("token create printed %q", out)
	}
	return tok
}

func initialize(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcpgo.Implementation{Name: "e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
}

func names(tools []mcpgo.Tool) map[string]bool {
	out := map[string]bool{}
	for _, t := range tools {
		out[t.Name] = true
	}
	return out
}

// TestMCPEndToEnd drives the running binary's MCP endpoint with tokens the
// CLI mints: mcp-go's client over streamable HTTP and over stdio, and the
// official TypeScript SDK client from npm.
func TestMCPEndToEnd(t *testing.T) {
	data := t.TempDir()
	s := start(t, data)
	admin := mintToken(t, data, "pod_admin")
	user := mintToken(t, data, "user")
	ctx := context.Background()

	t.Run("mcp-go over streamable HTTP with an operator token", func(t *testing.T) {
		c, err := client.NewStreamableHttpClient(s.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + admin}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		initialize(t, c)
		lr, err := c.ListTools(ctx, mcpgo.ListToolsRequest{})
		if err != nil || !names(lr.Tools)["create_tenant"] || !names(lr.Tools)["set_parameter"] {
			t.Fatalf("tools = %v, %v", names(lr.Tools), err)
		}
		req := mcpgo.CallToolRequest{}
		req.Params.Name = "list_tenants"
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			t.Fatalf("list_tenants = %+v, %v", res, err)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(string(b), `"id":"default"`) {
			t.Fatalf("tenants = %s", b)
		}
	})

	t.Run("mcp-go over stdio", func(t *testing.T) {
		c, err := client.NewStdioMCPClient(binary, env(data), "mcp", "--token", admin)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		initialize(t, c)
		req := mcpgo.CallToolRequest{}
		req.Params.Name = "get_parameter"
		req.Params.Arguments = map[string]any{"key": "billing.markup_percent"}
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			t.Fatalf("get_parameter over stdio = %+v, %v", res, err)
		}
	})

	t.Run("the official TypeScript SDK lists, reads and is refused", func(t *testing.T) {
		dir, _ := filepath.Abs(filepath.Join("..", "..", "e2e", "mcpclient"))
		node, err := exec.LookPath("node")
		_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk"))
		if err != nil || modErr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("node and e2e/mcpclient/node_modules are required under CI=true (run npm ci in e2e/mcpclient): %v %v", err, modErr)
			}
			t.Skipf("node or the MCP SDK is missing (npm ci in e2e/mcpclient): %v %v", err, modErr)
		}
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, node, "client.mjs", s.url+"/mcp", user)
		cmd.Dir = dir
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node client: %v: %s", err, stderr.String())
		}
		var got struct {
			Server struct{ Name string }
			Tools  []struct {
				Name            string
				ReadOnly        *bool
				HasOutputSchema bool
			}
			Read struct {
				IsError    bool
				Structured map[string]any
			}
			Denied struct {
				IsError bool
				Text    string
			}
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("client output %q: %v", out, err)
		}
		if got.Server.Name != "gpubroker" || len(got.Tools) == 0 {
			t.Fatalf("server %+v, %d tools", got.Server, len(got.Tools))
		}
		for _, tool := range got.Tools {
			if tool.Name == "create_tenant" || tool.Name == "set_parameter" {
				t.Fatalf("a user token lists %s", tool.Name)
			}
			if !tool.HasOutputSchema || tool.ReadOnly == nil {
				t.Fatalf("tool %s lacks an output schema or annotations", tool.Name)
			}
		}
		if got.Read.IsError || got.Read.Structured["id"] != "default" {
			t.Fatalf("get_tenant = %+v", got.Read)
		}
		if !got.Denied.IsError || !strings.Contains(got.Denied.Text, "pod_admin") {
			t.Fatalf("denied call = %+v", got.Denied)
		}
	})
	if _, err := s.stop(t); err != nil {
		t.Fatalf("exit = %v", err)
	}
}
