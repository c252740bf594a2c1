package tools_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

func heldID(t *testing.T, res tools.Result) string {
	t.Helper()
	var ref *tools.Refusal
	if !errors.As(res.Err, &ref) || ref.Approval == nil || ref.Approval.State != approval.Pending {
		t.Fatalf("want a held call, got %+v", res)
	}
	return ref.Approval.ID
}

// TestTheAgentsSpendingWaitsForAnAdmin: under agent.approval always,
// whatever its cost, the agent's spending call is stored and shown to
// admins with its preview, and its approval alone does not run it.
func TestTheAgentsSpendingWaitsForAnAdmin(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	runs := platformtest.RegisterSpend(p.Registry)
	ctx := context.Background()
	setLimit(t, p, "agent.approval", "always")
	agent := actor.Actor{Kind: actor.KindAgent, ID: "agent-1", TenantID: "acme", Role: actor.RolePodAdmin, Name: "procurement"}
	id := heldID(t, p.Registry.Call(ctx, tools.Request{Actor: agent, Face: audit.FaceAgent, Tool: platformtest.SpendTool, Input: []byte(`{"cost_usd":"0.5"}`)}))

	res := p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceDirect, Tool: tools.ToolListApprovals, Input: []byte(`{"state":"pending"}`)})
	list, ok := res.Output.(tools.ApprovalList)
	if res.Err != nil || !ok || len(list.Approvals) != 1 || list.Approvals[0].ID != id || string(list.Approvals[0].Preview) == "" {
		t.Fatalf("pending list: %+v", res)
	}
	// The requester sees its own calls; another user sees none of them.
	res = p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceDirect, Tool: tools.ToolGetApproval, Input: []byte(`{"id":"` + id + `"}`)})
	if fault.KindOf(res.Err) != fault.KindNotFound {
		t.Fatalf("another user reading the agent's approval: %+v", res)
	}

	// It is a decision of the agent: decided through the decision (the
	// agent tests), never by its approval alone.
	for _, tool := range []string{tools.ToolApproveCall, tools.ToolRejectCall} {
		res = p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceDirect, Tool: tool, Input: []byte(`{"id":"` + id + `"}`)})
		if fault.KindOf(res.Err) != fault.KindConflict {
			t.Fatalf("%s of the agent's held call: %+v", tool, res)
		}
	}
	if runs.Load() != 0 {
		t.Fatalf("runs = %d, want 0", runs.Load())
	}
}

// TestNoPersonApprovesTheirOwnCall: a user whose call was held and who has
// since become a POD Admin still may not decide it.
func TestNoPersonApprovesTheirOwnCall(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	runs := platformtest.RegisterSpend(p.Registry)
	ctx := context.Background()
	setLimit(t, p, "approvals.spend_threshold_usd", "1")
	id := heldID(t, p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceDirect, Tool: platformtest.SpendTool, Input: []byte(`{"cost_usd":"3"}`)}))
	promoted := platformtest.AcmeUser
	promoted.Role = actor.RolePodAdmin
	for _, tool := range []string{tools.ToolApproveCall, tools.ToolRejectCall} {
		res := p.Registry.Call(ctx, tools.Request{Actor: promoted, Face: audit.FaceDirect, Tool: tool, Input: []byte(`{"id":"` + id + `"}`)})
		if fault.KindOf(res.Err) != fault.KindForbidden {
			t.Fatalf("%s by the requester: %+v; want forbidden", tool, res)
		}
	}
	if runs.Load() != 0 {
		t.Fatal("the call ran")
	}
	// A dry run of the decision shows what approving would run and cost.
	res := p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceDirect, Tool: tools.ToolApproveCall, Input: []byte(`{"id":"` + id + `","dry_run":true}`)})
	pv, ok := res.Output.(tools.Preview)
	if res.Err != nil || !ok || pv.CostUSD != money.MustParse("3") || runs.Load() != 0 {
		t.Fatalf("dry run: %+v", res)
	}
}
