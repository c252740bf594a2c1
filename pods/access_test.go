package pods_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
)

// owner records what a pod's owner is told.
type owner struct {
	mu      sync.Mutex
	tokens  map[string]string
	running []string
	idle    map[string]time.Duration
}

func (o *owner) Ready(_ context.Context, p pods.Pod, token string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tokens[p.ID] = token
	return nil
}

func (o *owner) Running(_ context.Context, p pods.Pod) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.running = append(o.running, p.ID)
	return nil
}

func (o *owner) IdleStopped(_ context.Context, p pods.Pod, idle time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.idle[p.ID] = idle
	return nil
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ana@laptop"

// TestActivationRunsThePodAndCountsItsUsage: a pod that became ready has
// its owner told the activation token; a wrong token leaves it ready; the
// right one makes it running with how to reach it and is spent; each
// running interval is recorded at the pod's price and costs what it ran;
// a heartbeat or the provider's metrics keep the idle auto-stop away,
// silence past the limit stops the pod and tells its owner; on both
// backends.
func TestActivationRunsThePodAndCountsItsUsage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		var now atomic.Int64
		start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
		now.Store(start.UnixNano())
		advance := func(d time.Duration) { now.Add(int64(d)) }
		svc := pods.NewService(openStore(t, b), func() time.Time { return time.Unix(0, now.Load()).UTC() })
		told := &owner{tokens: map[string]string{}, idle: map[string]time.Duration{}}
		svc.Notify(told, func(string) time.Duration { return 24 * time.Hour })
		m := market{offers: []providers.Offer{{ID: "lambda-h100", Provider: "lambda", Region: "us"}}, by: map[string]*fakeProvider{"lambda": {}}}
		ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser}

		p := deployed(t, svc, "a-1")
		p, err := svc.UpdateDraft(ctx, ana, p, p.Config, p.Rate)
		if fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("changing a deployed pod's configuration: %v", err)
		}
		p, err = svc.Provision(ctx, "acme", deployedWithKey(t, svc).ID, m, pods.ProvisionOptions{Attempts: 1, BootTimeout: time.Second, Poll: time.Millisecond})
		if err != nil || p.State != pods.Ready {
			t.Fatalf("provision: %+v %v", p, err)
		}
		token := told.tokens[p.ID]
		if token == "" {
			t.Fatal("the owner of a ready pod was not told its activation token")
		}
		if _, err := svc.Activate(ctx, ana, p, "not-the-token", m); fault.KindOf(err) != fault.KindUnauthenticated {
			t.Fatalf("a wrong token: %v", err)
		}
		run, err := svc.Activate(ctx, ana, p, token, m)
		if err != nil || run.State != pods.Running || run.Connection == nil {
			t.Fatalf("activate: %+v %v", run, err)
		}
		c := *run.Connection
		fp, _ := pods.KeyFingerprint(testKey)
		if c.SSHHost != "203.0.113.7" || c.SSHPort != 2222 || c.SSHUser != "ubuntu" || c.SSHKeyFingerprint != fp ||
			c.SSHCommand != "ssh -p 2222 ubuntu@203.0.113.7" || c.JupyterURL != "http://203.0.113.7:8888/lab" {
			t.Fatalf("connection: %+v (key %s)", c, fp)
		}
		if len(told.running) != 1 || told.running[0] != p.ID {
			t.Fatalf("the activation was not confirmed to the owner: %v", told.running)
		}
		if _, err := svc.Activate(ctx, ana, run, token, m); fault.KindOf(err) != fault.KindGone {
			t.Fatalf("a used token: %v", err)
		}

		// An hour and a half running, then stopped: one closed interval.
		advance(90 * time.Minute)
		stopped, err := svc.Stop(ctx, ana, run, m)
		if err != nil {
			t.Fatal(err)
		}
		use, err := svc.Usage(ctx, pods.UsageFilter{TenantID: "acme", PodID: p.ID})
		if err != nil || len(use) != 1 || use[0].End == nil || use[0].PriceHour != money.MustParse("3.10") || use[0].OwnerID != "u-ana" {
			t.Fatalf("usage after a stop: %+v %v", use, err)
		}
		if cost, _ := use[0].Cost(time.Time{}); cost.Total != money.MustParse("4.65") || cost.Seconds != 5400 {
			t.Fatalf("90 minutes at 3.10 an hour cost %+v", cost)
		}

		// Started again, with heartbeats, then silent past the idle limit.
		run, err = svc.Start(ctx, ana, stopped, m)
		if err != nil {
			t.Fatal(err)
		}
		idleAfter := func(string) time.Duration { return time.Hour }
		advance(50 * time.Minute)
		if run, err = svc.Heartbeat(ctx, run); err != nil {
			t.Fatal(err)
		}
		advance(50 * time.Minute)
		if got, err := svc.StopIdle(ctx, idleAfter, m); err != nil || len(got) != 0 {
			t.Fatalf("a pod 50 minutes after its heartbeat was stopped: %v %v", got, err)
		}
		advance(20 * time.Minute)
		m.by["lambda"].active = time.Unix(0, now.Load()).Add(-5 * time.Minute) // its GPU metrics say busy
		if got, err := svc.StopIdle(ctx, idleAfter, m); err != nil || len(got) != 0 {
			t.Fatalf("a pod its provider saw busy was stopped: %v %v", got, err)
		}
		m.by["lambda"].active = time.Time{}
		got, err := svc.StopIdle(ctx, idleAfter, m)
		if err != nil || len(got) != 1 || got[0].State != pods.Stopped || got[0].Reason != "idle for 1h10m0s" {
			t.Fatalf("idle stop: %+v %v", got, err)
		}
		if told.idle[p.ID] != 70*time.Minute {
			t.Fatalf("the owner was told %v", told.idle)
		}
		if _, err := svc.Heartbeat(ctx, got[0]); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("a heartbeat of a stopped pod: %v", err)
		}
		use, _ = svc.Usage(ctx, pods.UsageFilter{TenantID: "acme", PodID: p.ID})
		if len(use) != 2 || use[0].End == nil || use[0].End.Sub(use[0].Start) != 120*time.Minute {
			t.Fatalf("usage after the idle stop: %+v", use)
		}
		if open, _ := svc.Usage(ctx, pods.UsageFilter{TenantID: "acme", From: start.Add(24 * time.Hour)}); len(open) != 0 {
			t.Fatalf("intervals overlapping tomorrow: %+v", open)
		}
	})
}

// deployedWithKey is a deployed Jupyter pod with an SSH key.
func deployedWithKey(t *testing.T, svc *pods.Service) pods.Pod {
	t.Helper()
	return deploy(t, svc, pods.Config{Name: "notebook", GPU: "H100-SXM-80GB", GPUCount: 1, Provider: pods.Auto, OfferID: "lambda-h100",
		VCPU: 8, RAMGiB: 64, DiskGiB: 100, Image: "jupyter-pytorch-2.5", Pricing: pods.OnDemand, SSHPublicKey: testKey})
}

func TestConfigKeysAreChecked(t *testing.T) {
	for _, c := range []struct {
		key string
		ok  bool
	}{{testKey, true}, {"ssh-rsa nonsense", false}, {"hello", false}, {testKey + "\n" + testKey, false}} {
		if _, err := pods.KeyFingerprint(c.key); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.key, err)
		}
	}
}
