package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/platformtest"
)

// TestTheBuiltinPlannerKeepsPodsRunningWithinTheBudget: told to keep two
// L4s below $5 an hour, the planner counts the live pods, lists the
// cheapest available L4 offers and configures and deploys two drafts,
// each deploy held for an admin's approval (the agent's spending always
// waits), then reports; its every call goes through the tools registry.
func TestTheBuiltinPlannerKeepsPodsRunningWithinTheBudget(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	tl := agent.RegistryTools{Registry: p.Registry, Actor: agent.For(platformtest.AcmeAdmin)}
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: agent.Builtin{}, Tools: tl})
	out, err := c.Communicate(context.Background(), "keep 2 × L4 running below $5/h")
	if err != nil || out.Ending != agent.Responded {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if !strings.Contains(out.Response, "keep 2 × L4 running below $5/h: 0 live and 2 deployed now") {
		t.Fatalf("response %q", out.Response)
	}
	// list_pods, list_offers, then configure and deploy twice (the
	// second round reads the offers it listed already), and the response.
	if out.Iterations != 7 {
		t.Fatalf("%d steps; want 7", out.Iterations)
	}
}

// TestTheBuiltinPlannerStopsIdlePodsAndSaysWhatItCannotRead.
func TestTheBuiltinPlannerStopsIdlePodsAndSaysWhatItCannotRead(t *testing.T) {
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	f := &idleFleet{pods: `{"pods":[
		{"id":"p1","name":"busy","gpu":"L4-PCIE-24GB","state":"running","price_hour":"0.80","active_at":"2031-03-01T11:50:00Z"},
		{"id":"p2","name":"idle","gpu":"L4-PCIE-24GB","state":"running","price_hour":"0.80","active_at":"2031-03-01T11:00:00Z"},
		{"id":"p3","name":"stale","gpu":"H100-SXM-80GB","state":"running","price_hour":"2.50","active_at":"2031-03-01T10:00:00Z"}]}`}
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: agent.Builtin{Now: func() time.Time { return now }}, Tools: f,
		Goals: []string{"stop pods idle for 30 min"}})
	out, err := c.Communicate(context.Background(), "tidy up")
	if err != nil || out.Ending != agent.Responded || !strings.Contains(out.Response, "stop pods idle for 30 min: 2 stopped") {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if strings.Join(f.stopped, ",") != "p2,p3" {
		t.Fatalf("stopped %v; want the two idle for 30 minutes or more", f.stopped)
	}
	c = agent.NewContext(agent.Config{Tenant: "acme", Model: agent.Builtin{}, Tools: f})
	out, _ = c.Communicate(context.Background(), "make it cheaper somehow")
	if !strings.Contains(out.Response, `I found no goal I can pursue in "make it cheaper somehow"`) {
		t.Fatalf("response %q", out.Response)
	}
}

type idleFleet struct {
	mu      sync.Mutex
	pods    string
	stopped []string
}

func (f *idleFleet) Specs() []agent.ToolSpec {
	return []agent.ToolSpec{{Name: "list_pods", Schema: json.RawMessage(`{}`)}, {Name: "stop_pod", Schema: json.RawMessage(`{}`)}}
}

func (f *idleFleet) Call(_ context.Context, c agent.Call) (json.RawMessage, error) {
	name, args := c.Reply.Tool, c.Reply.Args
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "stop_pod" {
		var in struct{ ID string }
		_ = json.Unmarshal(args, &in)
		f.stopped = append(f.stopped, in.ID)
		return json.RawMessage(`{"state":"stopped"}`), nil
	}
	return json.RawMessage(f.pods), nil
}

// TestTheBuiltinPlannerStaysWithinTheHourlyLimit: with room for one L4
// only, it deploys one and says why not the second.
func TestTheBuiltinPlannerStaysWithinTheHourlyLimit(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	tl := agent.RegistryTools{Registry: p.Registry, Actor: agent.For(platformtest.AcmeAdmin)}
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: agent.Builtin{}, Tools: tl})
	out, err := c.Communicate(context.Background(), "keep 2 × L4 running below $0.70/h")
	if err != nil || out.Ending != agent.Responded || !strings.Contains(out.Response, "0 live and 1 deployed now; no more") ||
		!strings.Contains(out.Response, "over $0.70") {
		t.Fatalf("outcome %+v, %v", out, err)
	}
}
