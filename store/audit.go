package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/mode"
)

// execer is what both *sql.DB and *sql.Tx offer, so a record can be written
// inside the transaction of the change it describes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// jsonb passes JSON to COPY as text, NULL when empty.
func jsonb(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// nullJSON stores empty JSON as NULL.
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func appendAudit(ctx context.Context, x execer, r audit.Record) (int64, error) {
	if r.At.IsZero() {
		r.At = now()
	}
	var id int64
	err := x.QueryRowContext(ctx, `INSERT INTO audit_log
		(at, actor_kind, actor_id, actor_role, face, tenant_id, mode, action, input, verdict, result, error, duration_us,
		 request_id, approval_id, approved_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		r.At.UTC(), string(r.Actor.Kind), r.Actor.ID, string(r.Actor.Role), string(r.Face), r.TenantID, string(r.Mode),
		r.Action, nullJSON(r.Input), r.Verdict, nullJSON(r.Result), r.Error, r.Duration.Microseconds(),
		r.RequestID, r.ApprovalID, r.ApprovedBy).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("append audit %s: %w", r.Action, err)
	}
	return id, nil
}

// AppendAudit writes one record.
func (s *Store) AppendAudit(ctx context.Context, r audit.Record) (int64, error) {
	return appendAudit(ctx, s.conn(ctx), r)
}

// QueryAudit returns records matching f, newest first (at most 1000).
func (s *Store) QueryAudit(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.TenantID != "" {
		add("tenant_id = $%d", f.TenantID)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.ActorID != "" {
		add("actor_id = $%d", f.ActorID)
	}
	if f.Face != "" {
		add("face = $%d", string(f.Face))
	}
	if f.Verdict != "" {
		add("verdict = $%d", f.Verdict)
	}
	if !f.Since.IsZero() {
		add("at >= $%d", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("at < $%d", f.Until.UTC())
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := `SELECT id, at, actor_kind, actor_id, actor_role, face, tenant_id, mode, action, input, verdict, result, error, duration_us,
		request_id, approval_id, approved_by FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := s.conn(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var kind, role, m, face string
		var input, result []byte
		var us int64
		if err := rows.Scan(&r.ID, &r.At, &kind, &r.Actor.ID, &role, &face, &r.TenantID, &m,
			&r.Action, &input, &r.Verdict, &result, &r.Error, &us, &r.RequestID, &r.ApprovalID, &r.ApprovedBy); err != nil {
			return nil, fmt.Errorf("scan audit: %w", err)
		}
		r.At = r.At.UTC()
		r.Actor.Kind, r.Actor.Role, r.Mode, r.Face = actor.Kind(kind), actor.Role(role), mode.Mode(m), audit.Face(face)
		r.Input, r.Result = input, result
		r.Duration = time.Duration(us) * time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// auditRowsPerInsert is how many records one INSERT carries at most: one
// statement per chunk instead of one per record spends SQLite's
// per-statement cost once, well under its limit of 32766 parameters.
// Chunks have power-of-two sizes, so few statements are ever prepared.
const auditRowsPerInsert = 128

// auditRare are the columns most records leave empty, the last four of
// auditColumns: a chunk in which every record leaves all four empty omits
// them, binding a quarter fewer values and letting their defaults stand.
var auditRare = []string{"result", "error", "approval_id", "approved_by"}

// auditInsert returns the INSERT for n records of the given columns,
// built once per shape: SQLite gets positional ? parameters, which it binds
// by position (it looks $N names up one by one); PostgreSQL, writing a
// batch inside InTx, gets $N.
func (s *Store) auditInsert(cols []string, n int) string {
	key := strings.Join(cols, ",") + "/" + strconv.Itoa(n)
	if q, ok := s.auditSQL.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("INSERT INTO audit_log (" + strings.Join(cols, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			if s.dialect == SQLite {
				b.WriteByte('?')
			} else {
				fmt.Fprintf(&b, "$%d", i*len(cols)+j+1)
			}
		}
		b.WriteByte(')')
	}
	s.auditSQL.Store(key, b.String())
	return b.String()
}

// chunkSize is the largest power of two up to auditRowsPerInsert that
// fits in n.
func chunkSize(n int) int {
	c := auditRowsPerInsert
	for c > n {
		c /= 2
	}
	return c
}

// auditColumns are the columns a batch writes, auditRare last.
var auditColumns = []string{"at", "actor_kind", "actor_id", "actor_role", "face", "tenant_id", "mode", "action",
	"input", "verdict", "duration_us", "request_id", "result", "error", "approval_id", "approved_by"}

// AppendAudits writes a batch of records so the audit log keeps up with the
// call rate: PostgreSQL takes them by COPY, SQLite (and a batch written
// inside InTx, which COPY on the pool would escape) through one prepared
// statement in one transaction.
func (s *Store) AppendAudits(ctx context.Context, rs []audit.Record) error {
	if s.dialect == Postgres && !inTx(ctx) {
		rows := make([][]any, len(rs))
		for i, r := range rs {
			if r.At.IsZero() {
				r.At = now()
			}
			rows[i] = []any{r.At.UTC(), string(r.Actor.Kind), r.Actor.ID, string(r.Actor.Role), string(r.Face), r.TenantID, string(r.Mode),
				r.Action, jsonb(r.Input), r.Verdict, r.Duration.Microseconds(), r.RequestID, jsonb(r.Result), r.Error, r.ApprovalID, r.ApprovedBy}
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"audit_log"}, auditColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy %d audit records: %w", len(rs), err)
		}
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The argument list is reused: allocating it afresh cost a quarter
		// of a kilobyte a record.
		buf, _ := s.auditArgs.Get().(*[]any)
		if buf == nil {
			b := make([]any, 0, auditRowsPerInsert*len(auditColumns))
			buf = &b
		}
		defer func() {
			clear(*buf) // drop the references to the records' values
			s.auditArgs.Put(buf)
		}()
		for len(rs) > 0 {
			n := chunkSize(len(rs))
			chunk := rs[:n]
			// Which rare columns does any record of the chunk set?
			var set [4]bool
			for _, r := range chunk {
				set[0] = set[0] || len(r.Result) > 0
				set[1] = set[1] || r.Error != ""
				set[2] = set[2] || r.ApprovalID != ""
				set[3] = set[3] || r.ApprovedBy != ""
			}
			cols := auditColumns[:len(auditColumns)-len(auditRare)]
			if set != [4]bool{} {
				cols = append(cols[:len(cols):len(cols)], auditRare...)
			}
			args := (*buf)[:0]
			for _, r := range chunk {
				if r.At.IsZero() {
					r.At = now()
				}
				args = append(args, r.At.UTC(), string(r.Actor.Kind), r.Actor.ID, string(r.Actor.Role), string(r.Face), r.TenantID,
					string(r.Mode), r.Action, nullJSON(r.Input), r.Verdict, r.Duration.Microseconds(), r.RequestID)
				if len(cols) == len(auditColumns) {
					args = append(args, nullJSON(r.Result), r.Error, r.ApprovalID, r.ApprovedBy)
				}
			}
			if _, err := s.execIn(ctx, tx, s.auditInsert(cols, n), args...); err != nil {
				return fmt.Errorf("append %d audit records: %w", n, err)
			}
			*buf = args
			rs = rs[n:]
		}
		return nil
	})
}
