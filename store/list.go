package store

import (
	"context"
	"fmt"
)

// listNewest runs a listing query filtered by its caller, newest first, at
// most limit rows (500 when limit is out of 1..500), scanning each row.
func listNewest[T any](ctx context.Context, s *Store, what, q string, args []any, limit int, scan func(rowScanner) (T, error)) ([]T, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	q += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit)
	return queryAll(ctx, s, what, q, args, scan)
}

// queryAll runs a query and scans every row it answers.
func queryAll[T any](ctx context.Context, s *Store, what, q string, args []any, scan func(rowScanner) (T, error)) ([]T, error) {
	rows, err := s.conn(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
