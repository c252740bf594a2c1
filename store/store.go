// Package store is the one persistence layer: plain, parameterized SQL over
// database/sql, on PostgreSQL (pgx/v5, pooled) in production and on embedded
// SQLite (modernc.org/sqlite, pure Go) by default. The same SQL text serves
// both ($N placeholders, ON CONFLICT, RETURNING); only the DDL differs, kept
// as numbered migrations per dialect and embedded in the binary.
//
// The store implements the small repository interfaces that the domain
// packages (tenant, params, audit, auth) declare. It must not import tools
// or any face, and it holds no business rules: it stores what it is told and
// keeps multi-row changes in one transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialect names a backend.
type Dialect string

// The two backends.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is the database handle shared by every repository.
type Store struct {
	db      *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only: LISTEN needs a dedicated connection
	dialect Dialect
	channel string // NOTIFY channel for parameter changes (PostgreSQL)
	log     *slog.Logger
	// pollEvery is how often an instance checks the parameter revision when
	// no notification arrives (SQLite always; PostgreSQL as a safety net).
	pollEvery time.Duration
	stmts     stmts
	// auditArgs holds argument lists of audit batch inserts for reuse, and
	// auditSQL their statements by shape.
	auditArgs sync.Pool
	auditSQL  sync.Map
}

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// PollInterval overrides how often parameter revisions are polled.
	PollInterval time.Duration
}

// Open connects to url and applies pending migrations. url is a PostgreSQL
// URL (postgres://…) or an SQLite location (sqlite:///abs/path.db,
// sqlite://relative/path.db, or file:path.db).
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	s, err := connect(ctx, rawURL, opt)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Connect opens the database without migrating (for `gpubroker migrate`
// reporting and for tests of the migrator itself).
func Connect(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	return connect(ctx, rawURL, opt)
}

func connect(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	s := &Store{log: opt.Logger, pollEvery: opt.PollInterval}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		cfg, err := pgxpool.ParseConfig(rawURL)
		if err != nil {
			return nil, fmt.Errorf("database url: %w", err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("connect postgres: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect postgres %s: %w", redactURL(rawURL), err)
		}
		s.pool, s.db, s.dialect = pool, stdlib.OpenDBFromPool(pool), Postgres
		// database/sql must queue for the pool's connections itself: with
		// no cap it would keep some idle while new opens block in pgxpool.
		// One connection stays free for the LISTEN session.
		n := int(pool.Config().MaxConns)
		s.db.SetMaxOpenConns(max(1, n-1))
		s.db.SetMaxIdleConns(max(1, n-1))
		var schema string
		if err := s.queryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			s.Close()
			return nil, fmt.Errorf("read current schema: %w", err)
		}
		// Instances share notifications only within one schema, so tests
		// in separate schemas never see each other's changes.
		s.channel = "gpubroker_params"
		if schema != "public" {
			s.channel += "_" + schema
		}
		if s.pollEvery == 0 {
			s.pollEvery = 5 * time.Second
		}
	default:
		path, err := sqlitePath(rawURL)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		// WAL lets readers run beside the writer; busy_timeout makes
		// writers queue instead of failing; _txlock=immediate takes the
		// write lock at BEGIN so read-then-write transactions (budget
		// reservations) cannot interleave.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// Opening an SQLite connection runs the pragmas and loses its
		// prepared statements, so keep connections idle rather than closing
		// them. The number open is not capped: a cap lets transactions
		// waiting for the write lock hold every connection.
		db.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
		s.db, s.dialect = db, SQLite
		if s.pollEvery == 0 {
			s.pollEvery = 250 * time.Millisecond
		}
	}
	return s, nil
}

func sqlitePath(rawURL string) (string, error) {
	switch {
	case rawURL == "":
		return "", errors.New("database url is empty: want postgres://… or sqlite://path/to/file.db")
	case strings.HasPrefix(rawURL, "sqlite://"):
		p := strings.TrimPrefix(rawURL, "sqlite://")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p == "" {
			return "", fmt.Errorf("database url %q names no file", rawURL)
		}
		return p, nil
	case strings.HasPrefix(rawURL, "file:"):
		return strings.TrimPrefix(rawURL, "file:"), nil
	case strings.Contains(rawURL, "://"):
		return "", fmt.Errorf("database url %q: unsupported scheme, want postgres:// or sqlite://", redactURL(rawURL))
	}
	return rawURL, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// Dialect reports which backend the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the handle for tests and health checks.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close releases every connection.
func (s *Store) Close() error {
	s.stmts.close()
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// isUniqueViolation reports a unique or primary-key conflict on either
// backend.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed")
}

// now is the store's clock, truncated to microseconds so that both backends
// return exactly what was written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
