package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

// tenantDuration reads a duration parameter in a tenant's mode; an
// unknown tenant reads the global value.
func tenantDuration(ps *params.Service, tenants *tenant.Service, key string) func(tenantID string) time.Duration {
	return func(tenantID string) time.Duration {
		t, err := tenants.Lookup(context.Background(), tenantID)
		if err != nil {
			return ps.Snapshot().Duration("", "", key)
		}
		return ps.Snapshot().Duration(tenantID, t.Mode, key)
	}
}

// job runs work on an interval until it is closed.
type job struct {
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// every starts running work every interval (the first time one interval
// from now).
func every(interval time.Duration, work func(ctx context.Context)) *job {
	ctx, stop := context.WithCancel(context.Background())
	j := &job{stop: stop}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				work(ctx)
			}
		}
	}()
	return j
}

// Close stops the job and waits for a run under way.
func (j *job) Close() {
	j.stop()
	j.wg.Wait()
}

// jobEvery is how often the periodic jobs run: the idle auto-stop and the
// settlement of ended usage.
const jobEvery = time.Minute

// startIdleStopper stops running pods idle past their tenant's
// pods.idle_stop_after.
func startIdleStopper(svc *pods.Service, m pods.Machines, idleAfter func(string) time.Duration, log *slog.Logger) *job {
	return every(jobEvery, func(ctx context.Context) {
		stopped, err := svc.StopIdle(ctx, idleAfter, m)
		for _, p := range stopped {
			log.Info("stopped an idle pod", "tenant", p.TenantID, "pod", p.ID, "reason", p.Reason)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("stop idle pods", "err", err)
		}
	})
}

// startSettler charges ended running intervals to their owners' ledgers,
// telling dropped of each balance a charge changed.
func startSettler(st *store.Store, now func() time.Time, dropped billing.Dropped, log *slog.Logger) *job {
	return every(jobEvery, func(ctx context.Context) {
		n, err := billing.Settle(ctx, st, st, "", now(), dropped)
		if n > 0 {
			log.Info("charged ended usage", "intervals", n)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("settle usage", "err", err)
		}
	})
}

// invoiceEvery is how often pay-as-you-go is billed: a run finds nothing
// to do but in the first one after a month ends, or to retry an item a
// processor did not make.
const invoiceEvery = 10 * time.Minute

// startInvoicer bills the pay-as-you-go owed when a month ends.
func startInvoicer(svc *billing.Service, now func() time.Time, log *slog.Logger) *job {
	return every(invoiceEvery, func(ctx context.Context) {
		got, err := svc.InvoicePayg(ctx, now())
		if got.Claimed > 0 || got.Billed > 0 {
			log.Info("billed pay-as-you-go", "period", got.Period, "claimed", got.Claimed, "billed", got.Billed)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("bill pay-as-you-go", "err", err)
		}
	})
}

// startDunning makes each failed payment's next attempt when it is due,
// and renews the Mock's subscriptions whose period ended.
func startDunning(svc *billing.Service, log *slog.Logger) *job {
	return every(jobEvery, func(ctx context.Context) {
		n, err := svc.RunDue(ctx)
		if n > 0 {
			log.Info("ran due subscription payments", "subscriptions", n)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("run due subscription payments", "err", err)
		}
	})
}

// stopPodsOf stops every running pod a user owns, answering how many
// stopped; one that will not stop is logged and the rest go on.
func stopPodsOf(svc *pods.Service, m pods.Machines, log *slog.Logger) func(ctx context.Context, t tenant.Tenant, userID string, by actor.Actor) (int, error) {
	return func(ctx context.Context, t tenant.Tenant, userID string, by actor.Actor) (int, error) {
		running, err := svc.List(ctx, pods.Filter{TenantID: t.ID, OwnerID: userID, States: []pods.State{pods.Running}, Limit: 500})
		if err != nil {
			return 0, err
		}
		stopped := 0
		for _, p := range running {
			if _, err := svc.Stop(ctx, by, p, m); err != nil {
				log.Error("stop a pod of an ended plan", "tenant", t.ID, "pod", p.ID, "err", err)
				continue
			}
			stopped++
		}
		return stopped, nil
	}
}
