package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
)

const processorEventColumns = `id, processor, endpoint, type, livemode, payload, received_at, tenant_id, user_id, processed_at, outcome, error`

func scanProcessorEvent(row rowScanner) (billing.ProcessorEvent, error) {
	var e billing.ProcessorEvent
	var processor, payload string
	var processed sql.NullTime
	err := row.Scan(&e.ID, &processor, &e.Endpoint, &e.Type, &e.Livemode, &payload, &e.ReceivedAt, &e.TenantID, &e.UserID,
		&processed, &e.Outcome, &e.Error)
	e.Processor, e.Payload, e.ReceivedAt, e.ProcessedAt = billing.BackendKind(processor), []byte(payload), e.ReceivedAt.UTC(), optionalTime(processed)
	return e, err
}

// PutProcessorEvent stores a received processor event unless one of its
// id is stored, and reports whether it stored it. It never fails on a
// repeat, so a transaction it joins goes on.
func (s *Store) PutProcessorEvent(ctx context.Context, e billing.ProcessorEvent) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO processor_events (id, processor, endpoint, type, livemode, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		e.ID, string(e.Processor), e.Endpoint, e.Type, e.Livemode, string(e.Payload), e.ReceivedAt.UTC())
	if err != nil {
		return false, fmt.Errorf("store processor event %s: %w", e.ID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ProcessorEvent reads one stored processor event.
func (s *Store) ProcessorEvent(ctx context.Context, id string) (billing.ProcessorEvent, error) {
	e, err := scanProcessorEvent(s.queryRow(ctx, `SELECT `+processorEventColumns+` FROM processor_events WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fault.NotFound("processor event", id)
	}
	if err != nil {
		return e, fmt.Errorf("read processor event %s: %w", id, err)
	}
	return e, nil
}

// ClaimProcessorEvent marks an event processed at at unless it is
// already, and reports whether this call marked it. Inside InTx a second
// worker claiming the same event waits for the first to commit, then
// finds it claimed.
func (s *Store) ClaimProcessorEvent(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE processor_events SET processed_at = $1 WHERE id = $2 AND processed_at IS NULL`, at.UTC(), id)
	if err != nil {
		return false, fmt.Errorf("claim processor event %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishProcessorEvent records whom a processed event concerned and its
// outcome.
func (s *Store) FinishProcessorEvent(ctx context.Context, e billing.ProcessorEvent) error {
	if _, err := s.exec(ctx, `UPDATE processor_events SET tenant_id = $1, user_id = $2, outcome = $3, error = $4 WHERE id = $5`,
		e.TenantID, e.UserID, e.Outcome, e.Error, e.ID); err != nil {
		return fmt.Errorf("finish processor event %s: %w", e.ID, err)
	}
	return nil
}

// NoteProcessorEventError records why an event is not processed yet.
func (s *Store) NoteProcessorEventError(ctx context.Context, id, msg string) error {
	if _, err := s.exec(ctx, `UPDATE processor_events SET error = $1 WHERE id = $2 AND processed_at IS NULL`, msg, id); err != nil {
		return fmt.Errorf("note the error of processor event %s: %w", id, err)
	}
	return nil
}

// UnprocessedProcessorEvents lists up to limit events not processed yet,
// oldest first.
func (s *Store) UnprocessedProcessorEvents(ctx context.Context, limit int) ([]billing.ProcessorEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, s, "processor events", fmt.Sprintf(`SELECT `+processorEventColumns+` FROM processor_events
		WHERE processed_at IS NULL ORDER BY received_at, id LIMIT %d`, limit), nil, scanProcessorEvent)
}

// ProcessorEventStats reports how the webhook deliveries that concern a
// tenant (received at its endpoint or found to be its; every delivery
// for "") fare: those received since since, processed and failed among
// them, those waiting however old, and the latest received and failed.
func (s *Store) ProcessorEventStats(ctx context.Context, tenantID string, since time.Time) (billing.EventStats, error) {
	var st billing.EventStats
	// Placeholders appear in the order of their numbers: SQLite numbers
	// them as it meets them.
	recent, rargs := ` FROM processor_events WHERE received_at >= $2`, []any{billing.OutcomeFailed, since.UTC()}
	waiting, wargs := ` FROM processor_events WHERE processed_at IS NULL`, []any{}
	latest := ` FROM processor_events`
	if tenantID != "" {
		recent, rargs = recent+` AND (endpoint = $3 OR tenant_id = $3)`, append(rargs, tenantID)
		waiting, wargs = waiting+` AND (endpoint = $1 OR tenant_id = $1)`, []any{tenantID}
		latest += ` WHERE endpoint = $1 OR tenant_id = $1`
	}
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN outcome = $1 THEN 1 ELSE 0 END), 0), COUNT(*), COUNT(processed_at)`+recent, rargs...).
		Scan(&st.Failed, &st.Received, &st.Processed)
	if err != nil {
		return st, fmt.Errorf("count the processor events received: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*)`+waiting, wargs...).Scan(&st.Unprocessed); err != nil {
		return st, fmt.Errorf("count the processor events waiting: %w", err)
	}
	err = s.queryRow(ctx, `SELECT received_at, error`+waiting+` ORDER BY received_at LIMIT 1`, wargs...).Scan(&st.OldestUnprocessed, &st.Waiting)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read the oldest processor event waiting: %w", err)
	}
	st.OldestUnprocessed = st.OldestUnprocessed.UTC()
	if st.LastReceived, err = s.firstTime(ctx, `SELECT received_at`+latest+` ORDER BY received_at DESC LIMIT 1`, wargs...); err != nil {
		return st, fmt.Errorf("read the latest processor event: %w", err)
	}
	var typ, msg string
	err = s.queryRow(ctx, `SELECT type, error`+recent+` AND outcome = $1 ORDER BY received_at DESC LIMIT 1`, rargs...).Scan(&typ, &msg)
	switch {
	case err == nil:
		st.LastFailure = typ + ": " + msg
	case !errors.Is(err, sql.ErrNoRows):
		return st, fmt.Errorf("read the latest failed processor event: %w", err)
	}
	return st, nil
}
