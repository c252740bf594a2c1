package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpubroker/pod/ratelimit"
	"github.com/gpubroker/pod/tools"
)

// openRateCounter connects the shared rate counter when GPUBROKER_REDIS_URL
// is set; without it, it returns nils and the registry counts in process.
//
// Timeouts left unset in the URL are short: the counter is on every call's
// path, and a Redis slower than this is better replaced by the registry's
// in-process count than waited for. A Redis that does not answer at start
// is logged but does not stop the start: the registry counts in process
// until it answers, as it does when Redis fails later.
func openRateCounter(ctx context.Context, cfg Config, log *slog.Logger) (*redis.Client, tools.RateCounter, error) {
	if cfg.RedisURL == "" {
		return nil, nil, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("GPUBROKER_REDIS_URL: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 250 * time.Millisecond
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 250 * time.Millisecond
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		log.Warn("Redis does not answer: rate limits count in this instance until it does",
			"addr", opts.Addr, "db", opts.DB, "err", err)
	}
	return client, ratelimit.New(client, cfg.RedisPrefix+"rate:"), nil
}
