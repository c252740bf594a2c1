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
