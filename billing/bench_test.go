package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/store"
)

// BenchmarkUsageRollup charges a month of usage of 10,000 pods, each
// running eight hours a day for 30 days (300,000 intervals), on
// PostgreSQL: streamed from the store, cut at midnight, rolled up by pod,
// day, provider and user.
const pods10k, days = 10_000, 30

func BenchmarkUsageRollup(b *testing.B) {
	ctx := context.Background()
	st, done := rollupData(b)
	defer done()
	from, to, _ := billing.Month("2026-11", time.Time{})
	b.ResetTimer()
	for b.Loop() {
		r, err := billing.Roll(ctx, st, pods.UsageFilter{TenantID: "acme"}, from, to, to)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.ByPod) != pods10k {
			b.Fatalf("%d pods rolled up", len(r.ByPod))
		}
	}
}

// rollupData is a month of usage of pods10k pods, each running eight hours
// a day for days days, on PostgreSQL; done closes it.
func rollupData(b *testing.B) (*store.Store, func()) {
	ctx := context.Background()
	db := dbtest.New(b, "postgres")
	st, err := store.Open(ctx, db.URL, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		b.Fatal(err)
	}
	// The pods and their intervals are made by the server in two
	// statements; the rollup reads them as the platform wrote them.
	if _, err := conn.Exec(ctx, `INSERT INTO pods (id, tenant_id, owner_id, name, gpu, gpu_count, provider, offer_id, vcpu, ram_gib, disk_gib,
		image, pricing, state, revision, price_hour_micros, created_at, updated_at, rate)
		SELECT 'pod-' || i, 'acme', 'user-' || (i % 500), 'p', 'H100-SXM-80GB', 1, 'auto',
			(ARRAY['lambda', 'runpod', 'vastai', 'coreweave'])[1 + i % 4] || '-h100', 8, 64, 100, 'cuda-12.4-base', 'on_demand', 'running', 1,
			2400000, now(), now(), '{"provider_hour":"2.00","markup_bps":2000,"storage_hour":"0"}'
		FROM generate_series(1, $1) AS i`, pods10k); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO pod_usage (id, tenant_id, pod_id, owner_id, offer_id, price_hour_micros, provider_hour_micros,
		markup_bps, storage_hour_micros, started_at, ended_at)
		SELECT 'use-' || i || '-' || d, 'acme', 'pod-' || i, 'user-' || (i % 500), 'lambda-h100', 2400000, 2000000, 2000, 0,
			TIMESTAMPTZ '2026-11-01 20:00:00+00' + d * INTERVAL '1 day',
			TIMESTAMPTZ '2026-11-02 04:00:00+00' + d * INTERVAL '1 day'
		FROM generate_series(1, $1) AS i, generate_series(0, $2 - 1) AS d`, pods10k, days); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE pod_usage`); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	return st, func() { st.Close() }
}
