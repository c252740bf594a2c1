package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// LoadParams returns every stored parameter value and the revision they
// are at least as new as.
func (s *Store) LoadParams(ctx context.Context) ([]params.Stored, int64, error) {
	rev, err := s.ParamRevision(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.query(ctx, `SELECT tenant_id, mode, key, value, sealed, updated_at, updated_by
		FROM param_values ORDER BY key, tenant_id, mode`)
	if err != nil {
		return nil, 0, fmt.Errorf("load parameters: %w", err)
	}
	defer rows.Close()
	var out []params.Stored
	for rows.Next() {
		var v params.Stored
		var m string
		if err := rows.Scan(&v.Scope.TenantID, &m, &v.Key, &v.Value, &v.Sealed, &v.UpdatedAt, &v.UpdatedBy); err != nil {
			return nil, 0, fmt.Errorf("scan parameter: %w", err)
		}
		v.Scope.Mode, v.UpdatedAt = mode.Mode(m), v.UpdatedAt.UTC()
		out = append(out, v)
	}
	return out, rev, rows.Err()
}

// ParamRevision reads the parameter revision counter.
func (s *Store) ParamRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.queryRow(ctx, `SELECT rev FROM param_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read parameter revision: %w", err)
	}
	return rev, nil
}

// bumpParamRevision advances the configuration revision inside tx and, on
// PostgreSQL, notifies listening instances when tx commits. Parameter and
// tenant changes both bump it: instances hold both in memory.
func bumpParamRevision(ctx context.Context, s *Store, tx *sql.Tx) error {
	var rev int64
	if err := tx.QueryRowContext(ctx, `UPDATE param_revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&rev); err != nil {
		return fmt.Errorf("bump parameter revision: %w", err)
	}
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel, strconv.FormatInt(rev, 10)); err != nil {
			return fmt.Errorf("notify parameter change: %w", err)
		}
	}
	return nil
}

// CommitParams applies writes and records changes in one transaction, then
// bumps the revision. changes[i] describes writes[i]; its OldValue is read
// here, inside the transaction, so history is exact under concurrent
// writers (a sealed old value is recorded as params.Redacted). Changes beyond
// len(writes) — values kept outside the database — are recorded as given.
func (s *Store) CommitParams(ctx context.Context, writes []params.Write, changes []params.Change) error {
	if len(changes) < len(writes) {
		return errors.New("commit parameters: every write needs its change record")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Bumping first takes the revision row's lock, so parameter commits
		// run one at a time and each reads the old values the previous one
		// left (PostgreSQL's READ COMMITTED would otherwise let two commits
		// read the same old value).
		if err := bumpParamRevision(ctx, s, tx); err != nil {
			return err
		}
		for i, w := range writes {
			var old string
			var sealed bool
			err := tx.QueryRowContext(ctx, `SELECT value, sealed FROM param_values WHERE tenant_id = $1 AND mode = $2 AND key = $3`,
				w.Scope.TenantID, string(w.Scope.Mode), w.Key).Scan(&old, &sealed)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				changes[i].OldValue = nil
			case err != nil:
				return fmt.Errorf("read parameter %s at %s: %w", w.Key, w.Scope, err)
			case sealed || w.Secret:
				r := params.Redacted
				changes[i].OldValue = &r
			default:
				changes[i].OldValue = &old
			}
			if w.Delete {
				if _, err := tx.ExecContext(ctx, `DELETE FROM param_values WHERE tenant_id = $1 AND mode = $2 AND key = $3`,
					w.Scope.TenantID, string(w.Scope.Mode), w.Key); err != nil {
					return fmt.Errorf("delete parameter %s at %s: %w", w.Key, w.Scope, err)
				}
				continue
			}
			c := changes[i]
			if _, err := tx.ExecContext(ctx, `INSERT INTO param_values (tenant_id, mode, key, value, sealed, updated_at, updated_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (tenant_id, mode, key) DO UPDATE SET value = excluded.value, sealed = excluded.sealed,
					updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				w.Scope.TenantID, string(w.Scope.Mode), w.Key, w.Value, w.Sealed, c.At.UTC(), c.Actor); err != nil {
				return fmt.Errorf("write parameter %s at %s: %w", w.Key, w.Scope, err)
			}
		}
		for i := range changes {
			c := &changes[i]
			if err := tx.QueryRowContext(ctx, `INSERT INTO param_history (at, actor, tenant_id, mode, key, action, old_value, new_value)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				c.At.UTC(), c.Actor, c.Scope.TenantID, string(c.Scope.Mode), c.Key, c.Action, c.OldValue, c.NewValue).Scan(&c.ID); err != nil {
				return fmt.Errorf("record history of %s: %w", c.Key, err)
			}
		}
		return nil
	})
}

// ParamHistory returns history entries newest first (at most 500).
func (s *Store) ParamHistory(ctx context.Context, q params.HistoryQuery) ([]params.Change, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Key != "" {
		add("key = $%d", q.Key)
	}
	if q.Scope != nil {
		add("tenant_id = $%d", q.Scope.TenantID)
		add("mode = $%d", string(q.Scope.Mode))
	}
	if q.BeforeID > 0 {
		add("id < $%d", q.BeforeID)
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	query := `SELECT id, at, actor, tenant_id, mode, key, action, old_value, new_value FROM param_history`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := s.conn(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query parameter history: %w", err)
	}
	defer rows.Close()
	var out []params.Change
	for rows.Next() {
		var c params.Change
		var m string
		var old, nw sql.NullString
		if err := rows.Scan(&c.ID, &c.At, &c.Actor, &c.Scope.TenantID, &m, &c.Key, &c.Action, &old, &nw); err != nil {
			return nil, fmt.Errorf("scan parameter history: %w", err)
		}
		c.At, c.Scope.Mode = c.At.UTC(), mode.Mode(m)
		if old.Valid {
			c.OldValue = &old.String
		}
		if nw.Valid {
			c.NewValue = &nw.String
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
