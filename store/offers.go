package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/sandbox"
)

// RecordPrices stores price observations of one mode in one transaction.
// An observation already stored (same offer and instant) is kept as is.
func (s *Store) RecordPrices(ctx context.Context, mode string, points []market.PricePoint) error {
	if len(points) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO price_points
			(mode, offer_id, provider, gpu, region, price_micros, spot_micros, availability, observed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (mode, offer_id, observed_at) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("prepare price insert: %w", err)
		}
		defer st.Close()
		for _, p := range points {
			if _, err := st.ExecContext(ctx, mode, p.OfferID, p.Provider, p.GPU, p.Region, micros(p.PriceHour),
				micros(p.SpotPriceHour), string(p.Availability), p.At.UTC()); err != nil {
				return fmt.Errorf("record price of %s: %w", p.OfferID, err)
			}
		}
		return nil
	})
}

// PriceHistory returns observations oldest first.
func (s *Store) PriceHistory(ctx context.Context, q market.PriceQuery) ([]market.PricePoint, error) {
	if q.OfferID == "" && q.GPU == "" {
		return nil, fault.Invalid("offer_id", "give an offer id or a GPU model")
	}
	if q.Until.IsZero() {
		q.Until = now().Add(time.Minute)
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	col, val := "offer_id", q.OfferID
	if q.OfferID == "" {
		col, val = "gpu", q.GPU
	}
	rows, err := s.conn(ctx).QueryContext(ctx, `SELECT offer_id, provider, gpu, region, price_micros, spot_micros, availability, observed_at
		FROM price_points WHERE mode = $1 AND `+col+` = $2 AND observed_at >= $3 AND observed_at < $4
		ORDER BY observed_at, offer_id LIMIT $5`, q.Mode, val, q.Since.UTC(), q.Until.UTC(), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("price history: %w", err)
	}
	defer rows.Close()
	var out []market.PricePoint
	for rows.Next() {
		var p market.PricePoint
		var price, spot int64
		var avail string
		if err := rows.Scan(&p.OfferID, &p.Provider, &p.GPU, &p.Region, &price, &spot, &avail, &p.At); err != nil {
			return nil, err
		}
		p.PriceHour, p.SpotPriceHour, p.Availability, p.At = usd(price), usd(spot), providers.Availability(avail), p.At.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreateSandboxInstance stores a new simulated machine (sandbox.Machines).
func (s *Store) CreateSandboxInstance(ctx context.Context, in sandbox.Machine) error {
	fail := 0
	if in.Fail {
		fail = 1
	}
	_, err := s.exec(ctx, `INSERT INTO sandbox_instances
		(id, provider, sku, region, name, state, price_micros, public_ip, ssh_port, fail, created_at, ready_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		in.ID, in.Provider, in.SKU, in.Region, in.Name, string(in.State), micros(in.PriceHour), in.PublicIP, in.SSHPort,
		fail, in.CreatedAt.UTC(), in.ReadyAt.UTC(), in.UpdatedAt.UTC())
	if err != nil {
		return fmt.Errorf("create sandbox instance: %w", err)
	}
	return nil
}

// GetSandboxInstance reads one simulated machine.
func (s *Store) GetSandboxInstance(ctx context.Context, id string) (sandbox.Machine, error) {
	var in sandbox.Machine
	var state string
	var price int64
	var fail int
	err := s.queryRow(ctx, `SELECT id, provider, sku, region, name, state, price_micros, public_ip, ssh_port, fail,
		created_at, ready_at, updated_at FROM sandbox_instances WHERE id = $1`, id).Scan(
		&in.ID, &in.Provider, &in.SKU, &in.Region, &in.Name, &state, &price, &in.PublicIP, &in.SSHPort, &fail,
		&in.CreatedAt, &in.ReadyAt, &in.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return in, fault.NotFound("instance", id)
	}
	if err != nil {
		return in, fmt.Errorf("get sandbox instance: %w", err)
	}
	in.State, in.PriceHour, in.Fail = providers.InstanceState(state), usd(price), fail != 0
	in.CreatedAt, in.ReadyAt, in.UpdatedAt = in.CreatedAt.UTC(), in.ReadyAt.UTC(), in.UpdatedAt.UTC()
	return in, nil
}

// SetSandboxInstanceState moves a simulated machine to a new state when
// it is in one of from (any state when from is empty); it reports whether
// the row changed.
func (s *Store) SetSandboxInstanceState(ctx context.Context, id string, to providers.InstanceState, readyAt time.Time, from ...providers.InstanceState) (bool, error) {
	q := `UPDATE sandbox_instances SET state = $1, ready_at = $2, updated_at = $3 WHERE id = $4`
	args := []any{string(to), readyAt.UTC(), now().UTC(), id}
	if len(from) > 0 {
		q += ` AND state IN (`
		for i, f := range from {
			if i > 0 {
				q += ", "
			}
			args = append(args, string(f))
			q += fmt.Sprintf("$%d", len(args))
		}
		q += ")"
	}
	res, err := s.conn(ctx).ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("set sandbox instance state: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
