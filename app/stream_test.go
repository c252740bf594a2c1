package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/params"
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
	ana, err := a.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "default", Email: "ana@example.com", Name: "Ana",
		Role: actor.RoleUser, Password: "correct-horse-42", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	user := actor.Actor{Kind: actor.KindUser, ID: ana.ID, TenantID: "default", Role: actor.RoleUser}
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

	// The activation mail carries the token that makes the pod running.
	var token string
	for token == "" {
		box, err := a.Mail.List(ctx, mail.Filter{TenantID: "default", To: "ana@example.com", Kind: mail.KindActivation})
		if err != nil || ctx.Err() != nil {
			t.Fatalf("no activation mail: %v %v", err, ctx.Err())
		}
		for _, m := range box {
			for _, l := range m.Links {
				if u, err := url.Parse(l.URL); err == nil && strings.HasSuffix(u.Path, "/pods/"+id+"/activate") {
					token = u.Query().Get("token")
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := call(tools.ToolActivatePod, `{"id":"`+id+`","token":"`+token+`"}`); res.Err != nil || res.Output.(pods.Pod).State != pods.Running {
		t.Fatalf("activate: %+v", res)
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
func seeded(ctx context.Context, t testing.TB) *App {
	t.Helper()
	return seededWith(ctx, t, Config{})
}

// seededWith is seeded with cfg (its data directory a temporary one).
func seededWith(ctx context.Context, t testing.TB, cfg Config) *App {
	t.Helper()
	cfg.DataDir = t.TempDir()
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	openFreePlan(ctx, t, a)
	return a
}

// TestANewWorkerResumesWhatAStoppedOneLeft: pods a worker left pending or
// provisioning when its process went away are provisioned by the next
// instance to start, without a new deploy event.
func TestANewWorkerResumesWhatAStoppedOneLeft(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	first, err := New(ctx, Config{DataDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	openFreePlan(ctx, t, first)
	user := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "default", Role: actor.RoleUser}
	var left []string
	for _, to := range []pods.State{pods.Pending, pods.Provisioning} {
		res := first.Tools.Call(ctx, tools.Request{Actor: user, Face: audit.FaceDirect, Tool: tools.ToolConfigurePod,
			Input: []byte(`{"name":"p","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"}`)})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		// Moved directly, as a worker that stopped mid-way leaves them:
		// no event the next worker could consume says to provision them.
		p := res.Output.(tools.PodQuote).Pod
		steps := []pods.State{pods.Pending}
		if to == pods.Provisioning {
			steps = append(steps, pods.Provisioning)
		}
		for _, step := range steps {
			if p, err = first.Store.MovePod(ctx, pods.Change{PodID: p.ID, TenantID: p.TenantID, Revision: p.Revision, From: p.State, To: step, Actor: user, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		left = append(left, p.ID)
	}
	first.Close()

	second, err := New(ctx, Config{DataDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	for _, id := range left {
		for {
			p, err := second.Pods.Get(ctx, "default", id)
			if err != nil {
				t.Fatal(err)
			}
			if p.State == pods.Ready {
				break
			}
			if p.State == pods.Failed || ctx.Err() != nil {
				t.Fatalf("pod %s was not resumed: %+v", id, p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// BenchmarkDeployToReady measures a SANDBOX deploy with instant
// provisioning, from deploy_pod's call to the pod being ready: through the
// outbox, the relay, the in-process broker and the provisioning worker.
func BenchmarkDeployToReady(b *testing.B) {
	ctx := context.Background()
	a := seeded(ctx, b)
	admin := actor.Actor{Kind: actor.KindUser, ID: "u-admin", TenantID: "default", Role: actor.RolePodAdmin}
	for key, value := range map[string]string{"ratelimit.tool_calls_per_minute": "1000000", "budget.monthly_limit_usd": "10000000"} {
		if _, err := a.Params.Set(ctx, actor.System("bench"), params.SetRequest{Scope: params.Scope{TenantID: "default"},
			Key: key, Value: value, Confirm: "default"}); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	for b.Loop() {
		res := a.Tools.Call(ctx, tools.Request{Actor: admin, Face: audit.FaceDirect, Tool: tools.ToolConfigurePod,
			Input: []byte(`{"name":"p","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"}`)})
		if res.Err != nil {
			b.Fatal(res.Err)
		}
		id := res.Output.(tools.PodQuote).Pod.ID
		start := time.Now()
		if res := a.Tools.Call(ctx, tools.Request{Actor: admin, Face: audit.FaceDirect, Tool: tools.ToolDeployPod, Input: []byte(`{"id":"` + id + `"}`)}); res.Err != nil {
			b.Fatal(res.Err)
		}
		for {
			p, err := a.Pods.Get(ctx, "default", id)
			if err != nil {
				b.Fatal(err)
			}
			if p.State == pods.Ready {
				break
			}
			if p.State == pods.Failed {
				b.Fatalf("failed: %s", p.Reason)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
