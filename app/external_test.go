package app

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// TestTheAppReachesATenantsOutsideMCPServer: the wiring reads the
// tenant's servers from its parameters and answers through the
// registry's call_external_tool.
func TestTheAppReachesATenantsOutsideMCPServer(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	q := platformtest.NewQuotaServer(t)
	p.NameMCPServer(t, "acme", "quota", q.URL, nil)
	// A registry of its own: the platform's already holds the tool.
	reg := tools.NewRegistry(tools.Deps{Tenants: p.Tenants, Limits: tools.ParamLimits{Params: p.Params}, Budget: p.Store, Audit: p.Audit,
		Approvals: p.Store})
	ext := newExternal(reg, p.Params, p.Tenants, "test", nil)
	t.Cleanup(ext.Close)
	list, err := ext.List(context.Background(), "acme")
	if err != nil || len(list) != 2 {
		t.Fatalf("listed %+v, %v", list, err)
	}
	res := reg.Call(context.Background(), tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceMCP, Tool: tools.ToolCallExternal,
		Input: json.RawMessage(`{"server":"quota","tool":"lookup_quota","arguments":{"gpu":"L4"}}`)})
	if out, ok := res.Output.(tools.ExternalResult); res.Err != nil || !ok || string(out.Result) != `"quota for L4: 8 GPUs"` {
		t.Fatalf("call: %+v, %v", res.Output, res.Err)
	}
}
