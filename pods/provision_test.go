package pods_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
)

// fakeProvider is a provider's machine API: it refuses to create when full,
// and otherwise boots a machine after the given number of polls.
type fakeProvider struct {
	full  bool
	boots int // polls before the machine runs; -1 never boots
	polls int
	gone  []string // terminated machines
	// active is when the provider last saw the machine busy.
	active time.Time
}

func (f *fakeProvider) LastActive(context.Context, string) (time.Time, error) { return f.active, nil }

func (f *fakeProvider) Create(_ context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if f.full {
		return providers.Instance{}, &providers.Error{Provider: req.Offer.Provider, Op: "create", Kind: providers.KindNoCapacity, Message: "sold out"}
	}
	st := providers.StateRunning
	if f.boots != 0 {
		st = providers.StatePending
	}
	return providers.Instance{ID: "i-" + req.Offer.ID, Provider: req.Offer.Provider, State: st}, nil
}

func (f *fakeProvider) Instance(_ context.Context, id string) (providers.Instance, error) {
	f.polls++
	if f.boots >= 0 && f.polls >= f.boots {
		return providers.Instance{ID: id, State: providers.StateRunning, PublicIP: "203.0.113.7", SSHPort: 2222}, nil
	}
	return providers.Instance{ID: id, State: providers.StatePending}, nil
}

func (f *fakeProvider) Start(context.Context, string) error { return nil }
func (f *fakeProvider) Stop(context.Context, string) error  { return nil }
func (f *fakeProvider) Terminate(_ context.Context, id string) error {
	f.gone = append(f.gone, id)
	return nil
}

// market is a fixed list of offers, best first, and their providers.
type market struct {
	offers []providers.Offer
	by     map[string]*fakeProvider
}

func (m market) Candidates(context.Context, pods.Pod) ([]providers.Offer, error) {
	return append([]providers.Offer(nil), m.offers...), nil
}

func (m market) Provisioner(_ context.Context, _ pods.Pod, provider string) (providers.Provisioner, error) {
	p, ok := m.by[provider]
	if !ok {
		return nil, errors.New("no such provider")
	}
	return p, nil
}

func (m market) Price(context.Context, pods.Pod, providers.Offer) (pods.Rate, error) {
	return pods.FlatRate(money.MustParse("3.10")), nil
}

// deployed is a pending pod on offer.
func deployed(t *testing.T, svc *pods.Service, offer string) pods.Pod {
	t.Helper()
	return deploy(t, svc, pods.Config{Name: "train", GPU: "H100-SXM-80GB", GPUCount: 1, Provider: pods.Auto, OfferID: offer, VCPU: 8,
		RAMGiB: 64, DiskGiB: 100, Image: "cuda-12.4-base", Pricing: pods.OnDemand})
}

// deploy saves cfg as u-ana's draft at 2.90 an hour and deploys it.
func deploy(t *testing.T, svc *pods.Service, cfg pods.Config) pods.Pod {
	t.Helper()
	ctx := context.Background()
	ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser}
	p, err := svc.CreateDraft(ctx, ana, "acme", ana.ID, cfg, pods.FlatRate(money.MustParse("2.90")))
	if err != nil {
		t.Fatal(err)
	}
	if p, err = svc.Move(ctx, ana, p, pods.Pending, "deploy", ""); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProvisioningFailsOverToTheNextOffer: the first offer's provider is
// sold out, the second starts the machine; the pod is ready on the second
// offer and its history shows both attempts. With every provider failing,
// the pod fails with each reason; a duplicate deploy event changes nothing.
func TestProvisioningFailsOverToTheNextOffer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		svc := pods.NewService(openStore(t, b), time.Now)
		offers := []providers.Offer{{ID: "a-1", Provider: "alpha", Region: "us"}, {ID: "b-1", Provider: "beta", Region: "eu"}}
		opt := pods.ProvisionOptions{Attempts: 3, BootTimeout: time.Second, Poll: time.Millisecond}

		m := market{offers: offers, by: map[string]*fakeProvider{"alpha": {full: true}, "beta": {boots: 2}}}
		p := deployed(t, svc, "a-1")
		got, err := svc.Provision(ctx, "acme", p.ID, m, opt)
		if err != nil || got.State != pods.Ready || got.OfferID != "b-1" || got.InstanceID != "i-b-1" || got.PriceHour != money.MustParse("3.10") {
			t.Fatalf("after failover: %+v %v", got, err)
		}
		hist, _ := svc.History(ctx, "acme", p.ID)
		var lines []string
		for _, h := range hist {
			lines = append(lines, string(h.To)+": "+h.Reason)
		}
		all := strings.Join(lines, "\n")
		if !strings.Contains(all, "provisioning: attempt failed on a-1 (alpha)") || !strings.Contains(all, "ready: started on b-1") {
			t.Fatalf("history does not show both attempts:\n%s", all)
		}
		again, err := svc.Provision(ctx, "acme", p.ID, m, opt)
		if err != nil || again.Revision != got.Revision {
			t.Fatalf("a duplicate deploy event changed the pod: %+v %v", again, err)
		}

		m = market{offers: offers, by: map[string]*fakeProvider{"alpha": {full: true}, "beta": {boots: -1}}}
		p = deployed(t, svc, "a-1")
		got, err = svc.Provision(ctx, "acme", p.ID, m, pods.ProvisionOptions{Attempts: 3, BootTimeout: 20 * time.Millisecond, Poll: time.Millisecond})
		if err != nil || got.State != pods.Failed || !strings.Contains(got.Reason, "sold out") || !strings.Contains(got.Reason, "did not boot") {
			t.Fatalf("every offer failing: %+v %v", got, err)
		}
	})
}

// TestADeployHoldsItsBudgetUntilReadyOrFailed: a deploy's budget hold is
// settled as spending when the pod is ready and given back when it fails,
// in the transaction of the move; on both backends.
func TestADeployHoldsItsBudgetUntilReadyOrFailed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		st := openStore(t, b)
		svc := pods.NewService(st, time.Now)
		svc.HoldFunds(st)
		ana := actor.Actor{Kind: actor.KindUser, ID: "u-ana", TenantID: "acme", Role: actor.RoleUser}
		opt := pods.ProvisionOptions{Attempts: 1, BootTimeout: time.Second, Poll: time.Millisecond}
		period := budget.Period(time.Now())
		for _, c := range []struct {
			name string
			full bool
			want pods.State
			// held and spent are the tenant's month so far: only the
			// ready pod's hold was spent.
			held, spent money.Amount
		}{
			{"a pod that became ready", false, pods.Ready, 0, money.MustParse("69.60")},
			{"a pod that failed", true, pods.Failed, 0, money.MustParse("69.60")},
		} {
			id, ok, _, err := st.Reserve(ctx, budget.Reservation{TenantID: "acme", UserID: ana.ID, Tool: "deploy_pod", Period: period,
				Amount: money.MustParse("69.60"), TenantCap: money.MustParse("1000")})
			if err != nil || !ok {
				t.Fatalf("reserve: %v %v", ok, err)
			}
			p := deployed(t, svc, "lambda-h100")
			// deployed moved it without a hold: deploy a fresh draft with one.
			p, err = svc.CreateDraft(ctx, ana, "acme", ana.ID, p.Config, p.Rate)
			if err == nil {
				p, err = svc.Deploy(ctx, ana, p, id)
			}
			if err != nil || p.Reservation != id {
				t.Fatalf("deploy: %+v %v", p, err)
			}
			m := market{offers: []providers.Offer{{ID: "lambda-h100", Provider: "lambda"}}, by: map[string]*fakeProvider{"lambda": {full: c.full}}}
			if p, err = svc.Provision(ctx, "acme", p.ID, m, opt); err != nil || p.State != c.want {
				t.Fatalf("%s: %+v %v", c.name, p, err)
			}
			u, err := st.BudgetUsage(ctx, "acme", period, "")
			if err != nil || u.Held != c.held || u.Spent != c.spent {
				t.Fatalf("%s: usage %+v %v", c.name, u, err)
			}
		}
	})
}
