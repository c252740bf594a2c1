package providers

import (
	"context"
	"time"
)

// ActivityReporter is implemented by adapters whose provider reports how a
// machine is used (GPU utilisation metrics): when it was last busy. The
// idle auto-stop asks it before stopping a pod that sent no heartbeat.
type ActivityReporter interface {
	LastActive(ctx context.Context, instanceID string) (time.Time, error)
}
