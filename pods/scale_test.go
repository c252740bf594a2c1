package pods_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
)

// TestScalingStartsTheNewMachineBeforeRetiringTheOld: a running pod asked
// to move to two GPUs on another provider runs on the new machine, at the
// new price, with a new running interval, and only then is its old
// machine terminated; a second request while one is under way is refused;
// a scale whose new machine cannot start leaves the pod as it was; on
// both backends.
func TestScalingStartsTheNewMachineBeforeRetiringTheOld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		clock := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
		svc := pods.NewService(openStore(t, b), func() time.Time { return clock })
		told := &owner{tokens: map[string]string{}, idle: map[string]time.Duration{}}
		svc.Notify(told, nil)
		lambda, runpod := &fakeProvider{}, &fakeProvider{}
		m := market{offers: []providers.Offer{{ID: "lambda-h100", Provider: "lambda", Region: "us"}, {ID: "runpod-h100x2", Provider: "runpod", Region: "eu"}},
			by: map[string]*fakeProvider{"lambda": lambda, "runpod": runpod}}
		opt := pods.ProvisionOptions{Attempts: 1, BootTimeout: time.Second, Poll: time.Millisecond}
		ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser}

		running := func() pods.Pod {
			p, err := svc.Provision(ctx, "acme", deployed(t, svc, "lambda-h100").ID, m, opt)
			if err != nil {
				t.Fatal(err)
			}
			if p, err = svc.Move(ctx, ana, p, pods.Running, "activated", ""); err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := running()
		to := pods.Scale{Config: p.Config, Rate: pods.FlatRate(money.MustParse("6.40"))}
		to.Config.GPUCount, to.Config.OfferID = 2, "runpod-h100x2"
		if _, err := svc.RequestScale(ctx, ana, p, pods.Scale{Config: p.Config}); fault.KindOf(err) != fault.KindInvalid {
			t.Fatalf("a scale to the same shape: %v", err)
		}
		req, err := svc.RequestScale(ctx, ana, p, to)
		if err != nil || req.ScaleTo == nil || req.State != pods.Running {
			t.Fatalf("request: %+v %v", req, err)
		}
		if _, err := svc.RequestScale(ctx, ana, req, to); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("a second request: %v", err)
		}

		clock = clock.Add(time.Hour)
		got, err := svc.Rescale(ctx, "acme", p.ID, m, opt)
		if err != nil || got.GPUCount != 2 || got.OfferID != "runpod-h100x2" || got.Region != "" || got.InstanceID != "i-runpod-h100x2" ||
			got.PriceHour != money.MustParse("6.40") || got.ScaleTo != nil || got.Connection == nil {
			t.Fatalf("after the scale: %+v %v", got, err)
		}
		if n := len(told.running); n != 2 { // the move to running, then the scale
			t.Fatalf("the owner was sent connection details %d times", n)
		}
		if !slices.Equal(lambda.gone, []string{"i-lambda-h100"}) || len(runpod.gone) != 0 {
			t.Fatalf("terminated: lambda %v, runpod %v", lambda.gone, runpod.gone)
		}
		use, _ := svc.Usage(ctx, pods.UsageFilter{TenantID: "acme", PodID: p.ID})
		if len(use) != 2 || use[0].End != nil || use[0].PriceHour != money.MustParse("6.40") || use[1].End == nil || use[1].PriceHour != money.MustParse("3.10") {
			t.Fatalf("usage: %+v", use)
		}
		if again, err := svc.Rescale(ctx, "acme", p.ID, m, opt); err != nil || again.Revision != got.Revision {
			t.Fatalf("a duplicate scale event changed the pod: %+v %v", again, err)
		}
		hist, _ := svc.History(ctx, "acme", p.ID)
		if last := hist[len(hist)-1].Reason; !strings.HasPrefix(last, "scaled from 1 × H100-SXM-80GB on lambda-h100 to 2 × H100-SXM-80GB on runpod-h100x2") {
			t.Fatalf("history ends with %q", last)
		}

		runpod.full = true
		p = running()
		if _, err := svc.RequestScale(ctx, ana, p, to); err != nil {
			t.Fatal(err)
		}
		got, err = svc.Rescale(ctx, "acme", p.ID, m, opt)
		if err != nil || got.GPUCount != 1 || got.OfferID != "lambda-h100" || got.ScaleTo != nil || got.State != pods.Running {
			t.Fatalf("after a failed scale: %+v %v", got, err)
		}
		hist, _ = svc.History(ctx, "acme", p.ID)
		if last := hist[len(hist)-1].Reason; !strings.Contains(last, "scale to 2 × H100-SXM-80GB failed") || !strings.Contains(last, "sold out") {
			t.Fatalf("history ends with %q", last)
		}
	})
}
