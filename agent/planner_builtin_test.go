package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
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
	// The simulated prices move with the clock: the limit is set from
	// the cheapest available L4 now, room for one pod with the platform's
	// markup but not for two.
	res := p.Registry.Call(context.Background(), tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceDirect, Tool: tools.ToolListOffers,
		Input: []byte(`{"gpu":"L4-PCIE-24GB","gpu_count":1,"availability":"available","sort":"price","limit":1}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cheapest, err := money.FromFloat(res.Output.(market.Page).Offers[0].PriceHour)
	if err != nil {
		t.Fatal(err)
	}
	limit, _ := cheapest.MulRat(18, 10)
	goal := "keep 2 × L4 running below $" + limit.Decimal() + "/h"
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: agent.Builtin{}, Tools: tl})
	out, err := c.Communicate(context.Background(), goal)
	if err != nil || out.Ending != agent.Responded || !strings.Contains(out.Response, "0 live and 1 deployed now; no more") ||
		!strings.Contains(out.Response, "over "+limit.String()) {
		t.Fatalf("%s: outcome %+v, %v", goal, out, err)
	}
}

// moveFleet answers the running pods and the offers of their GPU, and
// records the scales asked for.
type moveFleet struct {
	mu     sync.Mutex
	scales []string
}

func (f *moveFleet) Specs() []agent.ToolSpec {
	return []agent.ToolSpec{{Name: "list_pods", Schema: json.RawMessage(`{}`)}, {Name: "list_offers", Schema: json.RawMessage(`{}`)},
		{Name: "scale_pod", Schema: json.RawMessage(`{}`)}}
}

func (f *moveFleet) Call(_ context.Context, c agent.Call) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.Reply.Tool {
	case "list_pods":
		return json.RawMessage(`{"pods":[
			{"id":"p1","name":"train","gpu":"A100-SXM-80GB","gpu_count":1,"offer_id":"vast-a","vcpu":16,"ram_gib":64,"disk_gib":100,
			 "state":"running","price_hour":"2.30","rate":{"provider_hour":"2.00"}},
			{"id":"p2","name":"serve","gpu":"L4-PCIE-24GB","gpu_count":1,"offer_id":"lambda-l4","vcpu":8,"ram_gib":32,"disk_gib":50,
			 "state":"running","price_hour":"0.69","rate":{"provider_hour":"0.60"}}]}`), nil
	case "list_offers":
		var in struct {
			GPU string `json:"gpu"`
		}
		_ = json.Unmarshal(c.Reply.Args, &in)
		if in.GPU == "A100-SXM-80GB" {
			// The cheapest is too small for the pod; the next fits and is
			// 25 % below its provider's price.
			return json.RawMessage(`{"offers":[
				{"id":"tiny-a","provider":"tiny","price_hour":1.10,"vcpu":4,"ram_gb":16,"disk_gb":50},
				{"id":"runpod-a","provider":"runpod","price_hour":1.50,"vcpu":32,"ram_gb":128,"disk_gb":200},
				{"id":"vast-a","provider":"vastai","price_hour":2.00,"vcpu":16,"ram_gb":64,"disk_gb":100}]}`), nil
		}
		// Only 10 % below: not enough for a 20 % goal.
		return json.RawMessage(`{"offers":[{"id":"cheap-l4","provider":"x","price_hour":0.54,"vcpu":8,"ram_gb":32,"disk_gb":50}]}`), nil
	case "scale_pod":
		f.scales = append(f.scales, string(c.Reply.Args))
		return json.RawMessage(`{"pod":{"id":"p1","state":"running"}}`), nil
	}
	return nil, errors.New("no such tool")
}

// TestTheBuiltinPlannerMovesAPodToACompatibleCheaperOffer: told to move
// pods when a compatible offer is 20 % cheaper, it prices each running
// pod's GPUs and scales only the one with an offer that fits it and is
// cheap enough.
func TestTheBuiltinPlannerMovesAPodToACompatibleCheaperOffer(t *testing.T) {
	f := &moveFleet{}
	c := agent.NewContext(agent.Config{Tenant: "acme", Model: agent.Builtin{}, Tools: f,
		Goals: []string{"move a pod when a compatible offer is 20 % cheaper"}})
	out, err := c.Communicate(context.Background(), "save money")
	if err != nil || out.Ending != agent.Responded || !strings.Contains(out.Response, "20 % cheaper: 1 moved") {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if len(f.scales) != 1 || f.scales[0] != `{"id":"p1","offer_id":"runpod-a"}` {
		t.Fatalf("scales %v", f.scales)
	}
}
