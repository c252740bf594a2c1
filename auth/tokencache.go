package auth

import (
	"context"
	"sync"
	"time"
)

// tokenCacheTTL bounds how long a token row read from the database is
// trusted without reading it again. Revocation does not wait for it: a
// revocation bumps the configuration revision, and every instance's change
// watcher calls ForgetTokens.
const tokenCacheTTL = 30 * time.Second

// tokenCache keeps recently verified API token rows, so an authenticated
// request costs no database read. The secret is still checked against the
// row's hash on every request.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]cachedToken
}

type cachedToken struct {
	t    APIToken
	read time.Time
}

func (c *tokenCache) get(id string, now time.Time) (APIToken, bool) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || now.Sub(e.read) > tokenCacheTTL {
		return APIToken{}, false
	}
	return e.t, true
}

func (c *tokenCache) put(t APIToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[string]cachedToken{}
	}
	c.m[t.ID] = cachedToken{t: t, read: now}
}

func (c *tokenCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// ForgetTokens drops every cached token row; the app calls it whenever the
// configuration revision moves (a revocation on any instance bumps it).
func (s *Service) ForgetTokens() {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	s.tokens.m = nil
}

// apiToken reads a token row through the cache.
func (s *Service) apiToken(ctx context.Context, id string) (APIToken, error) {
	now := s.now()
	if t, ok := s.tokens.get(id, now); ok {
		return t, nil
	}
	t, err := s.repo.APIToken(ctx, id)
	if err != nil {
		return t, err
	}
	s.tokens.put(t, now)
	return t, nil
}
