package store

import (
	"context"
	"time"
)

// WatchParams calls onChange whenever the parameter revision moves past the
// one seen last, until ctx ends. On PostgreSQL a LISTEN connection delivers
// changes at once and polling is only a safety net for a dropped
// connection; on SQLite (one file, perhaps several processes) polling is the
// mechanism. onChange runs on the watcher's goroutine, one call at a time.
func (s *Store) WatchParams(ctx context.Context, onChange func()) error {
	last, err := s.ParamRevision(ctx)
	if err != nil {
		return err
	}
	wake := make(chan struct{}, 1)
	if s.dialect == Postgres {
		go s.listen(ctx, wake)
	}
	tick := time.NewTicker(s.pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
		}
		rev, err := s.ParamRevision(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("poll parameter revision", "err", err)
			continue
		}
		if rev != last {
			last = rev
			onChange()
		}
	}
}

// listen holds one pooled connection in LISTEN and nudges wake on every
// notification; it reconnects after an error until ctx ends.
func (s *Store) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("parameter change listener lost its connection; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTENing session must not go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN "`+s.channel+`"`); err != nil {
		return err
	}
	// Changes made while this connection was down are caught up here.
	select {
	case wake <- struct{}{}:
	default:
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
