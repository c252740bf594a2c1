package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
)

// Enqueue writes events to the outbox. Called with the context of InTx, the
// rows commit or vanish with the change they report.
func (s *Store) Enqueue(ctx context.Context, es ...events.Event) error {
	for _, e := range es {
		if e.ID == "" || !e.Type.Valid() || e.Key == "" {
			return fault.Invalid("event", "an event needs an id, a domain.event type and a key (got %q, %q, %q)", e.ID, e.Type, e.Key)
		}
		_, err := s.exec(ctx, `INSERT INTO outbox (id, type, key, tenant_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			e.ID, string(e.Type), e.Key, e.TenantID, string(e.Payload), e.CreatedAt.UTC())
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", e.Type, err)
		}
	}
	return nil
}

// PendingEvents returns up to limit unpublished events in commit order.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]events.Event, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT id, type, key, tenant_id, payload, created_at FROM outbox
		WHERE published_at IS NULL ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := []events.Event{}
	for rows.Next() {
		var e events.Event
		var typ, payload string
		if err := rows.Scan(&e.ID, &typ, &e.Key, &e.TenantID, &payload, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan outbox: %w", err)
		}
		e.Type, e.Payload, e.CreatedAt = events.Type(typ), []byte(payload), e.CreatedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneOutbox deletes events published before before, in batches so a
// long backlog never holds one big write; it answers how many went.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.conn(ctx).ExecContext(ctx, `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox
			WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY seq LIMIT 5000)`, before.UTC())
		if err != nil {
			return total, fmt.Errorf("prune outbox: %w", err)
		}
		n, _ := res.RowsAffected()
		if total += n; n < 5000 || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// MarkPublished records that the relay delivered the events with these ids.
func (s *Store) MarkPublished(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{at.UTC()}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	_, err := s.conn(ctx).ExecContext(ctx, `UPDATE outbox SET published_at = $1
		WHERE published_at IS NULL AND id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("mark %d events published: %w", len(ids), err)
	}
	return nil
}

// OutboxDepth counts unpublished events: how far the relay is behind.
func (s *Store) OutboxDepth(ctx context.Context) (int64, error) {
	var n int64
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil && err != sql.ErrNoRows {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// OutboxBacklog reports the relay's backlog: of one tenant's events, or
// of every event with tenantID "". It reads the pending rows through
// their partial index and the latest published one by seq.
func (s *Store) OutboxBacklog(ctx context.Context, tenantID string) (events.Backlog, error) {
	var b events.Backlog
	where, args := "", []any{}
	if tenantID != "" {
		where, args = " AND tenant_id = $1", []any{tenantID}
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE published_at IS NULL`+where, args...).Scan(&b.Pending); err != nil {
		return b, fmt.Errorf("count the outbox backlog: %w", err)
	}
	var err error
	if b.OldestPendingAt, err = s.firstTime(ctx, `SELECT created_at FROM outbox WHERE published_at IS NULL`+where+` ORDER BY seq LIMIT 1`, args...); err != nil {
		return b, fmt.Errorf("read the oldest pending event: %w", err)
	}
	if b.LastPublishedAt, err = s.firstTime(ctx, `SELECT published_at FROM outbox WHERE published_at IS NOT NULL`+where+` ORDER BY seq DESC LIMIT 1`, args...); err != nil {
		return b, fmt.Errorf("read the latest published event: %w", err)
	}
	return b, nil
}

// firstTime answers the time in the first row of q, zero when there is
// none. A column read as it is keeps its type on SQLite, where an
// aggregate such as MIN would answer text.
func (s *Store) firstTime(ctx context.Context, q string, args ...any) (time.Time, error) {
	var t time.Time
	err := s.queryRow(ctx, q, args...).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return t.UTC(), err
}
