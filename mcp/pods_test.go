package mcp_test

import (
	"encoding/json"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/gpubroker/pod/mcp"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// TestConfigureAPodOverMCP: the pod tools answer over MCP as over REST,
// and another user's pod is a not_found tool error, not a refusal.
func TestConfigureAPodOverMCP(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	url := serve(t, p)
	user, other := connect(t, url, "acme-user"), connect(t, url, "acme-pro")
	res := call(t, user, tools.ToolConfigurePod, map[string]any{"name": "infer", "gpu": "A100-SXM-80GB", "gpu_count": 1,
		"provider": "auto", "vcpu": 8, "ram_gib": 64, "disk_gib": 100, "image": "vllm-0.6", "pricing": "on_demand"})
	if res.IsError {
		t.Fatalf("configure: %+v", res.Content)
	}
	var q tools.PodQuote
	if err := json.Unmarshal([]byte(res.Content[0].(mcpgo.TextContent).Text), &q); err != nil {
		t.Fatal(err)
	}
	if q.Pod.State != "draft" || q.Pod.OfferID == "" || q.Estimate.Hour <= 0 || q.Estimate.Month != q.Estimate.Hour*720 {
		t.Fatalf("quote %+v", q)
	}
	if res := call(t, user, tools.ToolGetPod, map[string]any{"id": q.Pod.ID}); res.IsError {
		t.Fatalf("get: %+v", res.Content)
	}
	res = call(t, other, tools.ToolGetPod, map[string]any{"id": q.Pod.ID})
	var info mcp.ErrorInfo
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &info)
	if !res.IsError || info.Kind != "not_found" || info.Rule != "" {
		t.Fatalf("another user's pod: %+v", info)
	}
}
