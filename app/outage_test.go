package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// TestDeploysAcceptedWhileKafkaIsDownAreEachProvisionedOnceItReturns: with
// the cluster refusing every write, a hundred deploys are still accepted
// (the outbox holds them) and nothing is provisioned; once it is back,
// every pod is provisioned exactly once and the outbox empties.
func TestDeploysAcceptedWhileKafkaIsDownAreEachProvisionedOnceItReturns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, down := withKafkaDown(ctx, t)
	openFreePlan(ctx, t, a)
	for key, value := range map[string]string{"ratelimit.tool_calls_per_minute": "10000", "pods.deploy_reserve_hours": "1",
		"budget.monthly_limit_usd": "1000000", "budget.user_monthly_limit_usd": "1000000"} {
		if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Scope: params.Scope{TenantID: "default"}, Key: key, Value: value,
			Confirm: "default"}); err != nil {
			t.Fatal(key, err)
		}
	}
	user := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "default", Role: actor.RoleUser}
	call := func(tool, input string) tools.Result {
		return a.Tools.Call(ctx, tools.Request{Actor: user, Face: audit.FaceDirect, Tool: tool, Input: []byte(input)})
	}
	const n = 100
	ids := make([]string, n)
	for i := range n {
		res := call(tools.ToolConfigurePod, fmt.Sprintf(`{"name":"p-%d","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,
			"ram_gib":64,"disk_gib":100,"image":"cuda-12.4-base","pricing":"on_demand"}`, i))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		ids[i] = res.Output.(tools.PodQuote).Pod.ID
		if res := call(tools.ToolDeployPod, `{"id":"`+ids[i]+`"}`); res.Err != nil {
			t.Fatalf("deploy %d while Kafka is down: %v", i, res.Err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if depth, _ := a.Store.OutboxDepth(ctx); depth < n {
		t.Fatalf("while Kafka is down the outbox holds %d events; want every deploy's", depth)
	}
	if p, _ := a.Pods.Get(ctx, "default", ids[0]); p.State != pods.Pending {
		t.Fatalf("a pod moved while Kafka was down: %+v", p)
	}

	down.Store(false)
	for _, id := range ids {
		for {
			p, err := a.Pods.Get(ctx, "default", id)
			if err != nil || ctx.Err() != nil {
				t.Fatalf("pod %s: %+v %v %v", id, p, err, ctx.Err())
			}
			if p.State == pods.Ready {
				break
			}
			if p.State == pods.Failed {
				t.Fatalf("pod %s failed: %s", id, p.Reason)
			}
			time.Sleep(20 * time.Millisecond)
		}
		hist, err := a.Pods.History(ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		provisioned := 0
		for _, h := range hist {
			if h.To == pods.Provisioning && h.From == pods.Pending {
				provisioned++
			}
		}
		if provisioned != 1 {
			t.Fatalf("pod %s was provisioned %d times: %+v", id, provisioned, hist)
		}
	}
	for depth, _ := a.Store.OutboxDepth(ctx); depth != 0; depth, _ = a.Store.OutboxDepth(ctx) {
		if ctx.Err() != nil {
			t.Fatalf("%d events still in the outbox", depth)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withKafkaDown starts a seeded platform on a cluster of its own that
// refuses every write until the flag it answers is cleared.
func withKafkaDown(ctx context.Context, t *testing.T) (*App, *atomic.Bool) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	down := &atomic.Bool{}
	down.Store(true)
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	a, err := New(ctx, Config{DataDir: t.TempDir(), KafkaBrokers: strings.Join(cluster.ListenAddrs(), ",")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	return a, down
}
