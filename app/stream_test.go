package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// TestAPodsDraftReachesTheEmbeddedBroker: with no Kafka named, the platform
// runs its own broker on loopback, and a draft saved through the tools
// arrives on gpubroker.pod as a CloudEvent.
func TestAPodsDraftReachesTheEmbeddedBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	admin := actor.Actor{Kind: actor.KindUser, ID: "u-admin", TenantID: "default", Role: actor.RolePodAdmin}
	res := a.Tools.Call(ctx, tools.Request{Actor: admin, Face: audit.FaceDirect, Tool: tools.ToolConfigurePod,
		Input: []byte(`{"name":"train","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":100,
			"image":"cuda-12.4-base","pricing":"on_demand"}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	pod := res.Output.(tools.PodQuote).Pod

	consumer, err := kgo.NewClient(kgo.SeedBrokers(a.stream.cluster.ListenAddrs()...), kgo.ConsumeTopics("gpubroker.pod"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	for {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the draft's event never arrived")
		}
		var found bool
		fs.EachRecord(func(r *kgo.Record) {
			var ce events.CloudEvent
			if json.Unmarshal(r.Value, &ce) == nil && ce.Type == pods.EventConfigured && ce.Subject == pod.ID {
				found = true
			}
		})
		if found {
			return
		}
	}
}

// TestADeployedPodBecomesReady: deploy goes through the outbox, the
// in-process broker and the provisioning worker to a SANDBOX provider, and
// the pod is ready on a machine; deploying it again is refused.
func TestADeployedPodBecomesReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	user := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "default", Role: actor.RoleUser}
	call := func(tool, input string) tools.Result {
		return a.Tools.Call(ctx, tools.Request{Actor: user, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
	}
	res := call(tools.ToolConfigurePod, `{"name":"train","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,
		"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	id := res.Output.(tools.PodQuote).Pod.ID
	res = call(tools.ToolDeployPod, `{"id":"`+id+`"}`)
	if res.Err != nil || res.Output.(tools.Deployment).Pod.State != pods.Pending {
		t.Fatalf("deploy: %+v", res)
	}
	for {
		p, err := a.Pods.Get(ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == pods.Ready {
			if p.InstanceID == "" {
				t.Fatalf("ready without a machine: %+v", p)
			}
			break
		}
		if p.State == pods.Failed || ctx.Err() != nil {
			t.Fatalf("the pod did not become ready: %+v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := call(tools.ToolDeployPod, `{"id":"`+id+`"}`); res.Err == nil {
		t.Fatal("deploying a ready pod again was accepted")
	}
	if res := call(tools.ToolStartPod, `{"id":"`+id+`"}`); fault.KindOf(res.Err) != fault.KindConflict {
		t.Fatalf("starting a ready pod without its activation: %+v", res)
	}

	// Activation is not built yet: move the pod to running as it will.
	p, _ := a.Pods.Get(ctx, "default", id)
	if _, err := a.Pods.Move(ctx, user, p, pods.Running, "activated", ""); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		tool string
		want pods.State
	}{{tools.ToolStopPod, pods.Stopped}, {tools.ToolStartPod, pods.Running}, {tools.ToolTerminatePod, pods.Terminated}, {tools.ToolTerminatePod, pods.Terminated}} {
		res := call(step.tool, `{"id":"`+id+`"}`)
		if res.Err != nil || res.Output.(pods.Pod).State != step.want {
			t.Fatalf("%s: %+v", step.tool, res)
		}
	}
	if res := call(tools.ToolStopPod, `{"id":"`+id+`"}`); fault.KindOf(res.Err) != fault.KindConflict {
		t.Fatalf("stopping a terminated pod: %+v", res)
	}
}

// seeded builds a platform on embedded defaults in a temporary directory
// and seeds it.
func seeded(ctx context.Context, t *testing.T) *App {
	t.Helper()
	a, err := New(ctx, Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}
