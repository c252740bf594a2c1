package billing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// Choice is the backend that serves a tenant in its mode, with what it
// needs to be reached.
type Choice struct {
	Kind BackendKind
	// SecretKey, APIURL and PublishableKey are Stripe's (APIURL empty for
	// Stripe itself).
	SecretKey      string
	APIURL         string
	PublishableKey string
	MaxRetries     int64
	Timeout        time.Duration
}

// Account names the processor account a choice reaches, without its
// secret: one Stripe account per key and URL, one mock account per
// tenant.
func (c Choice) Account(tenantID string) string {
	if c.Kind == BackendMock {
		return "mock:" + tenantID
	}
	sum := sha256.Sum256([]byte(c.SecretKey))
	return "stripe:" + c.APIURL + ":" + hex.EncodeToString(sum[:6])
}

// Choose is the one rule that says which backend serves tenant t: a LIVE
// tenant is served by Stripe with its LIVE secret key, which must be a
// live one (sk_live_, or a restricted rk_live_); a SANDBOX tenant by
// Stripe when it reads a test key (sk_test_ or rk_test_), and by the Mock
// otherwise.
func Choose(s *params.Snapshot, t tenant.Tenant) (Choice, error) {
	key := s.String(t.ID, t.Mode, "stripe.secret_key")
	c := Choice{Kind: BackendStripe, SecretKey: key, APIURL: s.String(t.ID, t.Mode, "stripe.api_url"),
		PublishableKey: s.String(t.ID, t.Mode, "stripe.publishable_key"),
		MaxRetries:     s.Int(t.ID, t.Mode, "stripe.max_network_retries"), Timeout: s.Duration(t.ID, t.Mode, "stripe.timeout")}
	switch t.Mode {
	case mode.Live:
		if !strings.HasPrefix(key, "sk_live_") && !strings.HasPrefix(key, "rk_live_") {
			return Choice{}, fault.Unavailable("tenant %s is LIVE but reads no live Stripe secret key: set stripe.secret_key to an sk_live_ (or rk_live_) key for LIVE", t.ID)
		}
		return c, nil
	case mode.Sandbox:
		if strings.HasPrefix(key, "sk_test_") || strings.HasPrefix(key, "rk_test_") {
			return c, nil
		}
		return Choice{Kind: BackendMock}, nil
	}
	return Choice{}, fault.Invalid("mode", "tenant %s has no mode billing knows (%q)", t.ID, t.Mode)
}

// Backends builds the backend Choose names for a tenant: one Stripe
// client per account and settings, kept (a client is safe to share), and
// the Mock's account of the tenant.
type Backends struct {
	params *params.Service
	mock   *Mock
	client *http.Client
	log    *slog.Logger

	mu     sync.Mutex
	stripe map[string]*Stripe
}

// NewBackends returns the backends the parameters choose. client, when
// set, carries every Stripe request (tests record them); each request is
// still bounded by stripe.timeout.
func NewBackends(ps *params.Service, mock *Mock, client *http.Client, log *slog.Logger) *Backends {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backends{params: ps, mock: mock, client: client, log: log, stripe: map[string]*Stripe{}}
}

// For returns the backend serving t and the choice that named it.
func (b *Backends) For(t tenant.Tenant) (Backend, Choice, error) {
	c, err := Choose(b.params.Snapshot(), t)
	if err != nil {
		return nil, c, err
	}
	if c.Kind == BackendMock {
		acct, err := b.mock.Account(t)
		return acct, c, err
	}
	id := fmt.Sprintf("%s|%d|%s", c.Account(t.ID), c.MaxRetries, c.Timeout)
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.stripe[id]; ok {
		return s, c, nil
	}
	s := NewStripe(StripeConfig{SecretKey: c.SecretKey, APIURL: c.APIURL, MaxRetries: c.MaxRetries, Timeout: c.Timeout,
		HTTPClient: b.client, Log: b.log})
	b.stripe[id] = s
	return s, c, nil
}
