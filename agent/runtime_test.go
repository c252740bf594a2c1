package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
)

// TestTheRuntimeTakesMessagesAsTasksInterventionsAndNews: a message with
// no task under way starts one, streamed step by step; a message while it
// runs is its intervention; another admin of the tenant waits his turn;
// what became of a decision reaches the admin's next task as news.
func TestTheRuntimeTakesMessagesAsTasksInterventionsAndNews(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stepping := make(chan struct{})
	proceed := make(chan struct{})
	var seen []string
	m := modelFunc(func(ctx context.Context, p agent.Prompt) (agent.Answer, error) {
		last := p.History[len(p.History)-1]
		seen = append(seen, last.Content)
		switch {
		case strings.Contains(last.Content, "find H100s"):
			stepping <- struct{}{}
			<-proceed
			return call("list_offers", `{}`)(p), nil
		case strings.Contains(last.Content, "only Lambda"):
			return call("response", `{"text":"Lambda it is"}`)(p), nil
		case strings.HasPrefix(last.Content, agent.NewsLead):
			return call("response", `{"text":"noted"}`)(p), nil
		}
		return call("response", `{"text":"done"}`)(p), nil
	})
	rt := agent.NewRuntime(agent.RuntimeOptions{Config: func(admin actor.Actor) (agent.Config, error) {
		return agent.Config{Tenant: admin.TenantID, Model: m, Tools: &fleet{}}, nil
	}})
	defer rt.Close()
	events, stop := rt.Stream.Subscribe("acme", 0)
	defer stop()
	ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RolePodAdmin}
	bo := actor.Actor{Kind: actor.KindUser, ID: "u-bo", TenantID: "acme", Role: actor.RolePodAdmin}

	started, err := rt.Send(ctx, ana, "find H100s", false)
	if err != nil || started.Task == "" || started.Intervention {
		t.Fatalf("start: %+v %v", started, err)
	}
	<-stepping
	if st := rt.State("acme"); !st.Busy || st.Task != started.Task {
		t.Fatalf("state while working: %+v", st)
	}
	if r, err := rt.Send(ctx, ana, "only Lambda, please", true); err != nil || !r.Intervention {
		t.Fatalf("a message while working: %+v %v", r, err)
	}
	if _, err := rt.Send(ctx, bo, "and an A100", true); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("another admin while the agent works: %v", err)
	}
	close(proceed)

	kinds := map[string]int{}
	for e := range events {
		kinds[e.Kind]++
		if e.Kind == "end" {
			if e.Outcome == nil || e.Outcome.Response != "Lambda it is" || e.Task != started.Task {
				t.Fatalf("the end: %+v", e)
			}
			break
		}
	}
	if kinds["start"] != 1 || kinds["step"] != 2 {
		t.Fatalf("streamed %v", kinds)
	}
	waitIdle := func() {
		for rt.State("acme").Busy {
			if ctx.Err() != nil {
				t.Fatal("the task never ended")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitIdle()
	if last := rt.State("acme").LastRun; last == nil || last.Ending != string(agent.Responded) || last.Iterations != 2 {
		t.Fatalf("last run: %+v", last)
	}

	rt.Told(decision.Decision{ID: "dec_1", TenantID: "acme", AdminID: "u-ana", Tool: "deploy_pod", Status: decision.StatusRejected,
		DecidedBy: "u-bo", Error: "not today"})
	r, err := rt.Send(ctx, ana, "anything new?", true)
	if err != nil || r.Outcome == nil || r.Outcome.Response != "noted" {
		t.Fatalf("after news: %+v %v", r, err)
	}
	var news bool
	for _, s := range seen {
		news = news || (strings.HasPrefix(s, agent.NewsLead) && strings.Contains(s, "dec_1") && strings.Contains(s, "rejected by u-bo"))
	}
	if !news {
		t.Fatalf("the news never reached the model: %q", seen)
	}
	if _, err := rt.Start(ctx, actor.Actor{Kind: actor.KindUser, ID: "u-cy", TenantID: "acme", Role: actor.RoleUser}, []string{"x"}, time.Hour); fault.KindOf(err) != fault.KindForbidden {
		t.Fatalf("a user starting the agent: %v", err)
	}
}
