package agent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
)

// TestTheAgentWorksThroughTheGuardedTools: acting for an admin, the agent
// is shown its toolsets only (offers and pods, not users or billing's
// payment tools); it lists offers and saves a draft as that admin's; its
// deploy waits for an admin's approval, which it reads as the
// observation; each call is audited with face agent.
func TestTheAgentWorksThroughTheGuardedTools(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	tl := agent.RegistryTools{Registry: p.Registry, Actor: agent.For(platformtest.AcmeAdmin)}
	names := map[string]bool{}
	for _, s := range tl.Specs() {
		names[s.Name] = true
		if len(s.Schema) == 0 || s.Description == "" {
			t.Errorf("%s is shown without its schema or description", s.Name)
		}
	}
	for _, want := range []string{"list_offers", "configure_pod", "deploy_pod", "stop_pod", "usage_summary", "get_parameter"} {
		if !names[want] {
			t.Errorf("the agent lacks %s", want)
		}
	}
	for _, not := range []string{"create_user", "set_parameter", "subscribe", "buy_credits", "switch_mode"} {
		if names[not] {
			t.Errorf("the agent is given %s", not)
		}
	}
	m := &scripted{replies: []func(agent.Prompt) agent.Answer{
		call("list_offers", `{"gpu":"L4-PCIE-24GB","limit":3}`),
		call("configure_pod", `{"name":"infer","gpu":"L4-PCIE-24GB","gpu_count":1,"provider":"auto","vcpu":4,"ram_gib":16,"disk_gib":50,"image":"cuda-12.4-base","pricing":"on_demand"}`),
		func(p agent.Prompt) agent.Answer {
			last := p.History[len(p.History)-1].Content
			id := last[strings.Index(last, `"id":"`)+6:]
			id = id[:strings.Index(id, `"`)]
			return call("deploy_pod", `{"id":"`+id+`"}`)(p)
		},
		call("response", `{"text":"the pod waits for approval"}`),
	}}
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: tl})
	out, err := c.Communicate(context.Background(), "run an L4 for inference")
	if err != nil || out.Ending != agent.Responded {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	draft := m.prompts[2].History[len(m.prompts[2].History)-1].Content
	if !strings.Contains(draft, `"owner_id":"`+platformtest.AcmeAdmin.ID+`"`) || !strings.Contains(draft, `"state":"draft"`) {
		t.Fatalf("the draft: %.300s", draft)
	}
	held := m.prompts[3].History[len(m.prompts[3].History)-1].Content
	if !strings.Contains(held, "error: ") || !strings.Contains(held, "an admin must approve the agent's call") {
		t.Fatalf("the deploy answered %q", held)
	}
	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(context.Background(), audit.Filter{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	agentCalls := 0
	for _, r := range recs {
		if r.Face == audit.FaceAgent && r.Actor.ID == platformtest.AcmeAdmin.ID {
			agentCalls++
		}
	}
	if agentCalls < 3 {
		t.Fatalf("%d calls audited with face agent; want the list, the draft and the held deploy", agentCalls)
	}
}
