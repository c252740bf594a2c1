package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

const approvalColumns = `id, tenant_id, tool, input, shown_input, requester, face, request_id, reason, preview, estimate_micros,
	state, created_at, expires_at, decided_at, decided_by, note, result, error, finished_at`

// CreateApproval stores a pending approval.
func (s *Store) CreateApproval(ctx context.Context, a approval.Approval) error {
	req, err := json.Marshal(a.Requester)
	if err != nil {
		return fmt.Errorf("encode requester: %w", err)
	}
	_, err = s.exec(ctx, `INSERT INTO approvals (id, tenant_id, tool, input, shown_input, requester, requester_kind, requester_id,
		face, request_id, reason, preview, estimate_micros, state, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		a.ID, a.TenantID, a.Tool, string(a.Input), nullJSON(a.ShownInput), string(req), string(a.Requester.Kind), a.Requester.ID,
		string(a.Face), a.RequestID, a.Reason, nullJSON(a.Preview), a.Estimate.Micros(), string(approval.Pending),
		a.CreatedAt.UTC(), a.ExpiresAt.UTC())
	if err != nil {
		return fmt.Errorf("store approval for %s: %w", a.Tool, err)
	}
	return nil
}

// GetApproval reads one approval of a tenant; another tenant's is not found.
func (s *Store) GetApproval(ctx context.Context, tenantID, id string) (approval.Approval, error) {
	a, err := scanApproval(s.queryRow(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = $1 AND tenant_id = $2`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return approval.Approval{}, fault.NotFound("approval", id)
	}
	return a, err
}

// DecideApproval moves a pending, unexpired approval to d.To in one
// conditional UPDATE, so of two admins deciding at once exactly one wins.
// A decided approval is a conflict; one past its expiry is marked expired
// and gone; an unknown or foreign one is not found.
func (s *Store) DecideApproval(ctx context.Context, d approval.Decision) (approval.Approval, error) {
	if d.To != approval.Executing && d.To != approval.Rejected {
		return approval.Approval{}, fmt.Errorf("decide approval %s: cannot move to %s", d.ID, d.To)
	}
	by, err := json.Marshal(d.By)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("encode approver: %w", err)
	}
	at := d.At.UTC()
	a, err := scanApproval(s.queryRow(ctx, `UPDATE approvals SET state = $1, decided_at = $2, decided_by = $3, note = $4
		WHERE id = $5 AND tenant_id = $6 AND state = 'pending' AND expires_at > $2 RETURNING `+approvalColumns,
		string(d.To), at, string(by), d.Note, d.ID, d.TenantID))
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return approval.Approval{}, fmt.Errorf("decide approval %s: %w", d.ID, err)
	}
	// Nothing moved: say why.
	res, err := s.exec(ctx, `UPDATE approvals SET state = 'expired', finished_at = $1
		WHERE id = $2 AND tenant_id = $3 AND state = 'pending' AND expires_at <= $1`, at, d.ID, d.TenantID)
	if err != nil {
		return approval.Approval{}, fmt.Errorf("expire approval %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return approval.Approval{}, fault.Gone("approval %s expired before it was decided", d.ID)
	}
	cur, err := s.GetApproval(ctx, d.TenantID, d.ID)
	if err != nil {
		return approval.Approval{}, err
	}
	if cur.State == approval.Expired {
		return approval.Approval{}, fault.Gone("approval %s expired before it was decided", d.ID)
	}
	return approval.Approval{}, fault.Conflict("approval %s is already %s", d.ID, cur.State)
}

// FinishApproval records how an approved call ended.
func (s *Store) FinishApproval(ctx context.Context, o approval.Outcome) error {
	state := approval.Executed
	if o.Error != "" {
		state = approval.Failed
	}
	res, err := s.exec(ctx, `UPDATE approvals SET state = $1, result = $2, error = $3, finished_at = $4
		WHERE id = $5 AND state = 'executing'`, string(state), nullJSON(o.Result), o.Error, o.At.UTC(), o.ID)
	if err != nil {
		return fmt.Errorf("finish approval %s: %w", o.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.Conflict("approval %s is not executing", o.ID)
	}
	return nil
}

// ListApprovals returns a tenant's approvals matching f, newest first (at
// most 500).
func (s *Store) ListApprovals(ctx context.Context, f approval.Filter) ([]approval.Approval, error) {
	args := []any{f.TenantID}
	q := `SELECT ` + approvalColumns + ` FROM approvals WHERE tenant_id = $1`
	if f.State != "" {
		args = append(args, string(f.State))
		q += fmt.Sprintf(" AND state = $%d", len(args))
	}
	if f.RequesterID != "" {
		args = append(args, string(f.RequesterKind), f.RequesterID)
		q += fmt.Sprintf(" AND requester_kind = $%d AND requester_id = $%d", len(args)-1, len(args))
	}
	return listNewest(ctx, s, "approvals", q, args, f.Limit, scanApproval)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanApproval(row rowScanner) (approval.Approval, error) {
	var a approval.Approval
	var input, requester, face, state string
	var shown, preview, decidedBy, result sql.NullString
	var estimate int64
	var decidedAt, finishedAt sql.NullTime
	err := row.Scan(&a.ID, &a.TenantID, &a.Tool, &input, &shown, &requester, &face, &a.RequestID, &a.Reason, &preview,
		&estimate, &state, &a.CreatedAt, &a.ExpiresAt, &decidedAt, &decidedBy, &a.Note, &result, &a.Error, &finishedAt)
	if err != nil {
		return a, err
	}
	a.Input, a.Face, a.State, a.Estimate = json.RawMessage(input), audit.Face(face), approval.State(state), money.Amount(estimate)
	if err := json.Unmarshal([]byte(requester), &a.Requester); err != nil {
		return a, fmt.Errorf("decode approval %s requester: %w", a.ID, err)
	}
	if shown.Valid {
		a.ShownInput = json.RawMessage(shown.String)
	}
	if preview.Valid {
		a.Preview = json.RawMessage(preview.String)
	}
	if result.Valid {
		a.Result = json.RawMessage(result.String)
	}
	if decidedBy.Valid {
		var by actor.Actor
		if err := json.Unmarshal([]byte(decidedBy.String), &by); err != nil {
			return a, fmt.Errorf("decode approval %s approver: %w", a.ID, err)
		}
		a.DecidedBy = &by
	}
	a.CreatedAt, a.ExpiresAt = a.CreatedAt.UTC(), a.ExpiresAt.UTC()
	if decidedAt.Valid {
		t := decidedAt.Time.UTC()
		a.DecidedAt = &t
	}
	if finishedAt.Valid {
		t := finishedAt.Time.UTC()
		a.FinishedAt = &t
	}
	return a, nil
}
