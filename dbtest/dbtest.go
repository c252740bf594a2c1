// Package dbtest gives tests a fresh database on every backend: an SQLite
// file in a temporary directory, and a PostgreSQL schema of its own (created
// at GPUBROKER_TEST_DATABASE_URL and dropped afterwards) so parallel packages
// and reruns never collide. Under CI=true a PostgreSQL that cannot be reached
// fails the test; elsewhere it is skipped with a message.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/gpubroker/pod/store"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is used when GPUBROKER_TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backend is one database to run a test against.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// URL opens the backend; every call of Open on it shares one database,
	// as two instances of the platform would.
	URL string
}

// Each runs fn as a subtest once per backend, each with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			fn(t, New(t, name))
		})
	}
}

// New creates a fresh database on the named backend.
func New(t testing.TB, name string) Backend {
	t.Helper()
	switch name {
	case "sqlite":
		return Backend{Name: name, URL: "sqlite://" + filepath.Join(t.TempDir(), "gpubroker.db")}
	case "postgres":
		return Backend{Name: name, URL: postgresSchema(t)}
	}
	t.Fatalf("unknown backend %q", name)
	return Backend{}
}

// PostgresURL returns the server URL tests use.
func PostgresURL() string {
	if u := os.Getenv("GPUBROKER_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

func postgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI=true: %v", base, err)
		}
		t.Skipf("PostgreSQL at %s unreachable (set GPUBROKER_TEST_DATABASE_URL): %v", base, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "gpbtest_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open gives the test an open, migrated store on a fresh database of the
// named backend, closed when the test ends.
func Open(t testing.TB, name string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, New(t, name).URL, store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("open %s store: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
