package sandbox

import (
	"context"
	"time"

	"github.com/gpubroker/pod/providers"
)

// Simulated workloads run this long at least, and up to twice as long.
const minWorkload = 20 * time.Minute

// LastActive simulates a machine's GPU metrics: after each start a
// workload keeps it busy for 20 to 40 minutes (the same length for the
// same machine), then it sits idle. A machine that is not running was
// last busy when it last changed state.
func (p *Provider) LastActive(ctx context.Context, id string) (time.Time, error) {
	m, err := p.machine(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	if m.State != providers.StateRunning {
		return m.UpdatedAt, nil
	}
	busy := m.UpdatedAt.Add(minWorkload + time.Duration(unit(hash64(id))*float64(minWorkload)))
	if now := p.o.Now(); now.Before(busy) {
		return now, nil
	}
	return busy, nil
}

var _ providers.ActivityReporter = (*Provider)(nil)
