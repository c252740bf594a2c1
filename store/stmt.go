package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// stmts caches prepared statements by query text. SQLite otherwise parses
// every query on every call (half the CPU of an authenticated request);
// pgx's driver keeps its own per-connection cache, so PostgreSQL queries
// pass straight through. Only constant query texts may be cached, which
// keeps the cache bounded: queries built from filters use s.db directly.
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.m[q]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if s.stmts.m == nil {
		s.stmts.m = map[string]*sql.Stmt{}
	}
	s.stmts.m[q] = st
	return st, nil
}

// queryRow runs a constant query expected to return one row.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if inTx(ctx) {
		return s.conn(ctx).QueryRowContext(ctx, q, args...)
	}
	if s.dialect == SQLite {
		if st, err := s.prepared(ctx, q); err == nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

// query runs a constant query.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if inTx(ctx) {
		return s.conn(ctx).QueryContext(ctx, q, args...)
	}
	if s.dialect == SQLite {
		st, err := s.prepared(ctx, q)
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}

// exec runs a constant statement.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if inTx(ctx) {
		return s.conn(ctx).ExecContext(ctx, q, args...)
	}
	if s.dialect == SQLite {
		st, err := s.prepared(ctx, q)
		if err != nil {
			return nil, err
		}
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, q, args...)
}

func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// execIn runs a constant statement in tx, prepared once per query text on
// SQLite.
func (s *Store) execIn(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if s.dialect == SQLite {
		st, err := s.prepared(ctx, q)
		if err != nil {
			return nil, err
		}
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}
