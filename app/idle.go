package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
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

// idleStopper stops running pods that have been idle past their tenant's
// pods.idle_stop_after, checking every minute.
type idleStopper struct {
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// idleCheckEvery is how often running pods are checked for idleness.
const idleCheckEvery = time.Minute

func startIdleStopper(svc *pods.Service, m pods.Machines, idleAfter func(string) time.Duration, log *slog.Logger) *idleStopper {
	ctx, stop := context.WithCancel(context.Background())
	w := &idleStopper{stop: stop}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(idleCheckEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			stopped, err := svc.StopIdle(ctx, idleAfter, m)
			for _, p := range stopped {
				log.Info("stopped an idle pod", "tenant", p.TenantID, "pod", p.ID, "reason", p.Reason)
			}
			if err != nil && ctx.Err() == nil {
				log.Error("stop idle pods", "err", err)
			}
		}
	}()
	return w
}

// Close stops checking and waits for a check under way.
func (w *idleStopper) Close() {
	w.stop()
	w.wg.Wait()
}
