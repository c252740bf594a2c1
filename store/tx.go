package store

import (
	"context"
	"database/sql"
	"fmt"
)

// txKey carries the transaction InTx opened.
type txKey struct{}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// InTx runs fn in one transaction across aggregates: every store call made
// with the context fn receives joins it, and commits or rolls back with it.
// This is how a domain operation keeps a state change, its audit record and
// the event it causes (Enqueue) together: nothing is published that was not
// committed, and nothing committed lacks its event. Called inside another
// InTx, it joins the outer transaction.
//
// On SQLite the transaction holds the database's write lock until fn
// returns, so fn must not wait on anything but the store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(ctx)
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(context.WithValue(ctx, txKey{}, tx)) })
}

// conn is the transaction ctx carries, or the pool.
func (s *Store) conn(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return s.db
}

// inTx reports whether ctx carries a transaction.
func inTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*sql.Tx)
	return ok
}

// tx runs fn in one transaction, committing when fn returns nil; inside
// InTx it runs fn in the caller's transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(tx)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
