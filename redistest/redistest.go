// Package redistest gives tests a Redis of their own: a client on the
// server at GPUBROKER_TEST_REDIS_URL and a key prefix no other test uses,
// under which every key is deleted when the test ends, so parallel packages
// and reruns never collide. Under CI=true a Redis that cannot be reached
// fails the test; elsewhere it is skipped with a message.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when GPUBROKER_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL returns the server URL tests use.
func URL() string {
	if u := os.Getenv("GPUBROKER_TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New returns a client on the test Redis and a key prefix unique to this
// test ("gpbtest:<random>:"). When the test ends, every key under the prefix
// is deleted and the client closed.
func New(t testing.TB) (*redis.Client, string) {
	t.Helper()
	u := URL()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("GPUBROKER_TEST_REDIS_URL %q: %v", u, err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is required under CI=true: %v", u, err)
		}
		t.Skipf("Redis at %s unreachable (set GPUBROKER_TEST_REDIS_URL): %v", u, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "gpbtest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The prefix is hex and colons, so it needs no escaping in a pattern.
		it := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		if err := it.Err(); err != nil {
			t.Errorf("list keys under %s: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete keys under %s: %v", prefix, err)
			}
		}
	})
	return c, prefix
}
