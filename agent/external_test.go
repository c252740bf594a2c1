package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// TestTheAgentCallsOutsideToolsAsDecisions: the tools of a tenant's
// outside MCP server are shown to the agent as <server>__<tool>; a call of
// one is a decision on call_external_tool, executed under agent.approval
// never and held for an admin under destructive, since the platform
// cannot know what an outside tool changes; a plain user is shown none of
// it; a server that is down is an observation, not a crash.
func TestTheAgentCallsOutsideToolsAsDecisions(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	q := platformtest.NewQuotaServer(t)
	p.NameMCPServer(t, "acme", "quota", q.URL, map[string]string{"Authorization": "Bearer t0ken"})
	decisions := decision.NewService(p.Store, time.Now)
	tools.RegisterAgent(p.Registry, tools.AgentServices{Decisions: decisions, Params: p.Params, Budget: p.Store})
	ctx := context.Background()
	setApproval := func(t *testing.T, rule string) {
		t.Helper()
		if _, err := p.Params.Set(ctx, platformtest.Operator, params.SetRequest{Scope: params.Scope{TenantID: "acme"},
			Key: decision.ParamApproval, Value: rule, Confirm: "acme"}); err != nil {
			t.Fatal(err)
		}
	}
	tl := agent.Decided{RegistryTools: agent.RegistryTools{Registry: p.Registry, Actor: agent.For(platformtest.AcmeAdmin), External: p.External},
		Decisions: decisions}
	step := 0
	ask := func(tool, args string) (json.RawMessage, error) {
		step++
		return tl.Call(ctx, agent.Call{Task: "task-ext", Agent: 1, Iteration: step, Raw: `{"tool_name":"` + tool + `"}`,
			Reply: agent.Reply{Tool: tool, Args: json.RawMessage(args), Headline: "check the quota"}})
	}
	last := func(t *testing.T) decision.Decision {
		t.Helper()
		list, err := decisions.List(ctx, decision.Filter{TenantID: "acme", TaskID: "task-ext", Limit: 1})
		if err != nil || len(list) == 0 {
			t.Fatalf("no decision recorded: %v", err)
		}
		return list[0]
	}

	t.Run("the agent sees the server's tools beside its own", func(t *testing.T) {
		var spec *agent.ToolSpec
		specs := tl.Specs()
		for i := range specs {
			if specs[i].Name == "quota__lookup_quota" {
				spec = &specs[i]
			}
		}
		if spec == nil {
			t.Fatalf("quota__lookup_quota is not among %d tools", len(specs))
		}
		if !strings.HasPrefix(spec.Description, "[external MCP server quota] The GPU quota") || !strings.Contains(string(spec.Schema), `"gpu"`) {
			t.Fatalf("shown as %+v", spec)
		}
	})
	t.Run("under agent.approval never the call runs and is an executed decision", func(t *testing.T) {
		setApproval(t, "never")
		out, err := ask("quota__lookup_quota", `{"gpu":"H100"}`)
		if err != nil || !strings.Contains(string(out), "quota for H100: 8 GPUs") {
			t.Fatalf("observation %s, %v", out, err)
		}
		d := last(t)
		if d.Status != decision.StatusExecuted || d.Tool != tools.ToolCallExternal || !strings.Contains(string(d.Result), "quota for H100: 8 GPUs") {
			t.Fatalf("decision %+v", d)
		}
		if !strings.Contains(string(d.Args), `"server":"quota"`) || !d.Preview.Destructive ||
			!strings.Contains(d.Preview.Effect, "call lookup_quota on MCP server quota") {
			t.Fatalf("decision args %s, preview %+v", d.Args, d.Preview)
		}
	})
	t.Run("under agent.approval destructive the call waits for an admin, who runs it", func(t *testing.T) {
		setApproval(t, "destructive")
		before := q.Calls()
		out, err := ask("quota__lookup_quota", `{"gpu":"A100"}`)
		var w agent.Waiting
		if err != nil || json.Unmarshal(out, &w) != nil || w.Status != decision.StatusAwaitingApproval {
			t.Fatalf("observation %s, %v", out, err)
		}
		if q.Calls() != before {
			t.Fatal("the held call reached the server")
		}
		d := last(t)
		if d.Status != decision.StatusAwaitingApproval || d.ApprovalID == "" {
			t.Fatalf("decision %+v", d)
		}
		res := p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceREST, Tool: tools.ToolApproveDecision,
			Input: []byte(`{"id":"` + d.ID + `"}`)})
		got, ok := res.Output.(decision.Decision)
		if res.Err != nil || !ok || got.Status != decision.StatusExecuted || !strings.Contains(string(got.Result), "quota for A100") {
			t.Fatalf("approve: %+v, %v", res.Output, res.Err)
		}
	})
	t.Run("a plain user is shown no outside tool and may not call one", func(t *testing.T) {
		setApproval(t, "never")
		user := agent.Decided{RegistryTools: agent.RegistryTools{Registry: p.Registry, Actor: agent.For(platformtest.AcmeUser), External: p.External},
			Decisions: decisions}
		for _, s := range user.Specs() {
			if s.Name == tools.ToolCallExternal || strings.Contains(s.Name, "__") {
				t.Fatalf("a user's agent is shown %s", s.Name)
			}
		}
		before := q.Calls()
		_, err := user.Call(ctx, agent.Call{Task: "task-user", Reply: agent.Reply{Tool: "quota__lookup_quota", Args: json.RawMessage(`{"gpu":"H100"}`)}})
		if err == nil || q.Calls() != before {
			t.Fatalf("a user's call: %v (server calls %d → %d)", err, before, q.Calls())
		}
	})
	t.Run("a server that is down is an observation the model reads", func(t *testing.T) {
		down := platformtest.NewQuotaServer(t)
		down.Stop()
		p.NameMCPServer(t, "acme", "quota", down.URL, nil)
		specs := tl.Specs()
		for _, s := range specs {
			if strings.HasPrefix(s.Name, "quota__") {
				t.Fatalf("a server that is down still shows %s", s.Name)
			}
		}
		_, err := ask("quota__lookup_quota", `{"gpu":"H100"}`)
		if err == nil || !strings.Contains(err.Error(), "MCP server quota") {
			t.Fatalf("err = %v, want one naming the server", err)
		}
		if d := last(t); d.Status != decision.StatusFailed {
			t.Fatalf("decision %+v, want failed", d)
		}
	})
}
