package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
)

// FleetNow groups a tenant's pods by offer and state: how many, their
// GPUs and the sum of their hourly prices (pods_tenant_state serves it).
func (s *Store) FleetNow(ctx context.Context, tenantID string) ([]pods.FleetCount, error) {
	return queryAll(ctx, s, "the fleet", `SELECT offer_id, state, COUNT(*), COALESCE(SUM(gpu_count), 0),
		COALESCE(SUM(price_hour_micros), 0) FROM pods WHERE tenant_id = $1 GROUP BY offer_id, state ORDER BY offer_id, state`,
		[]any{tenantID}, func(row rowScanner) (pods.FleetCount, error) {
			var c pods.FleetCount
			var state string
			var price int64
			err := row.Scan(&c.OfferID, &state, &c.Pods, &c.GPUs, &price)
			c.State, c.PriceHour = pods.State(state), money.Amount(price)
			return c, err
		})
}

// fleetHours cuts the running intervals that overlap a window of hours
// into one piece an hour and sums the pieces by hour and offer, to the
// second, in the database: only a row per hour and offer comes back.
// $1 is the tenant, $2 and $3 the window's start and end (now) as times,
// which the intervals are selected by (pod_usage_tenant and
// pod_usage_tenant_end), $4 the hours, $5 and $6 the start and end in
// seconds since 1970. An interval still open, or ending after now, runs
// until now. A pod counts once an hour and offer, with its most GPUs.
const fleetHours = `WITH RECURSIVE hours (h) AS (
		SELECT CAST(0 AS BIGINT) UNION ALL SELECT h + 1 FROM hours WHERE h + 1 < $4
	),
	spans AS (
		SELECT pod_id, offer_id, gpu_count, price_hour_micros AS price, EPOCH(started_at) AS s,
			CASE WHEN ended_at IS NULL OR ended_at > $3 THEN CAST($6 AS BIGINT) ELSE EPOCH(ended_at) END AS e
		FROM pod_usage
		WHERE tenant_id = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2)
	),
	pieces AS (
		SELECT h, pod_id, offer_id, gpu_count, price,
			(CASE WHEN e < CAST($5 AS BIGINT) + (h + 1) * 3600 THEN e ELSE CAST($5 AS BIGINT) + (h + 1) * 3600 END) -
			(CASE WHEN s > CAST($5 AS BIGINT) + h * 3600 THEN s ELSE CAST($5 AS BIGINT) + h * 3600 END) AS secs
		FROM spans JOIN hours ON s < CAST($5 AS BIGINT) + (h + 1) * 3600 AND e > CAST($5 AS BIGINT) + h * 3600
		WHERE e > s
	),
	per_pod AS (
		SELECT h, offer_id, pod_id, MAX(gpu_count) AS gpus, SUM(price * secs) AS price_seconds
		FROM pieces GROUP BY h, offer_id, pod_id
	)
	SELECT h, offer_id, COUNT(*), SUM(gpus), CAST(SUM(price_seconds) AS BIGINT)
	FROM per_pod GROUP BY h, offer_id ORDER BY h, offer_id`

// fleetHoursSQL is fleetHours in a dialect: whole seconds since 1970 of
// a stored time are unixepoch() in SQLite and EXTRACT(EPOCH) in
// PostgreSQL, both truncated.
var fleetHoursSQL = map[Dialect]string{
	SQLite:   strings.NewReplacer("EPOCH(started_at)", "unixepoch(started_at)", "EPOCH(ended_at)", "unixepoch(ended_at)").Replace(fleetHours),
	Postgres: strings.NewReplacer("EPOCH(started_at)", "CAST(FLOOR(EXTRACT(EPOCH FROM started_at)) AS BIGINT)", "EPOCH(ended_at)", "CAST(FLOOR(EXTRACT(EPOCH FROM ended_at)) AS BIGINT)").Replace(fleetHours),
}

// FleetHours sums what ran in each of hours hours from from (the last
// cut at now) by hour and offer, from the running intervals; hours in
// which nothing ran are left out.
func (s *Store) FleetHours(ctx context.Context, tenantID string, from time.Time, hours int, now time.Time) ([]pods.FleetSlot, error) {
	from, now = from.UTC().Truncate(time.Second), now.UTC().Truncate(time.Second)
	if hours < 1 || !now.After(from) {
		return []pods.FleetSlot{}, nil
	}
	out, err := queryAll(ctx, s, "the fleet's hours", fleetHoursSQL[s.dialect], []any{tenantID, from, now, hours, from.Unix(), now.Unix()},
		func(row rowScanner) (pods.FleetSlot, error) {
			var sl pods.FleetSlot
			var h int64
			err := row.Scan(&h, &sl.OfferID, &sl.Pods, &sl.GPUs, &sl.PriceSecond)
			sl.Hour = from.Add(time.Duration(h) * time.Hour)
			return sl, err
		})
	if err != nil {
		return nil, fmt.Errorf("fleet of %s over %d hours: %w", tenantID, hours, err)
	}
	return out, nil
}
