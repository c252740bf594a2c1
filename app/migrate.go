package app

import (
	"context"

	"github.com/gpubroker/pod/store"
)

// ConnectStore opens the database without migrating it, for `gpubroker
// migrate`, which reports what it applies.
func ConnectStore(ctx context.Context, cfg Config) (*store.Store, error) {
	cfg = cfg.withDefaults()
	return store.Connect(ctx, cfg.DatabaseURL, store.Options{})
}
