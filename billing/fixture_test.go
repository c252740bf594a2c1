package billing_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

// clock is a test's clock, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is billing over a fresh database: tenants acme (SANDBOX) and
// beta (LIVE), users ana and bo of acme, the Mock and the Stripe client
// recording its requests.
type fixture struct {
	st      *store.Store
	params  *params.Service
	people  *auth.Service
	mock    *billing.Mock
	svc     *billing.Service
	clock   *clock
	rec     *recorder
	sandbox tenant.Tenant
	live    tenant.Tenant
	mails   *mailbox

	mu      sync.Mutex
	stopped []string // whose pods billing stopped, and by whom
}

// Lookup implements billing.Tenants.
func (f *fixture) Lookup(_ context.Context, id string) (tenant.Tenant, error) {
	if id == f.live.ID {
		return f.live, nil
	}
	return f.sandbox, nil
}

// mailbox keeps the mail billing queued.
type mailbox struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct {
	tenantID, to string
	kind         mail.Kind
	data         any
}

func (m *mailbox) Send(_ context.Context, tenantID, to string, kind mail.Kind, data any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{tenantID: tenantID, to: to, kind: kind, data: data})
	return nil
}

// to lists the mail sent to address.
func (m *mailbox) to(address string) []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sentMail
	for _, s := range m.sent {
		if s.to == address {
			out = append(out, s)
		}
	}
	return out
}

var sys = actor.System("test")

func newFixture(t testing.TB, backend string) *fixture {
	t.Helper()
	ctx := context.Background()
	st := dbtest.Open(t, backend)
	cat, err := params.NewCatalog(params.Platform(), billing.Params())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, _ := secrets.NewLocalKey(key)
	ps := params.NewService(cat, st, secrets.NewEnvelope(lk))
	f := &fixture{st: st, params: ps, clock: &clock{t: time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)}, rec: &recorder{}, mails: &mailbox{}}
	now := f.clock.Now()
	for _, id := range []string{"acme", "beta"} {
		tn := tenant.Tenant{ID: id, Name: id, Mode: mode.Sandbox, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateTenant(ctx, tn, audit.Record{At: now, Actor: sys, Action: "tenant.create", TenantID: id, Verdict: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	live, err := st.SwitchTenantMode(ctx, "beta", mode.Sandbox, mode.Live, audit.Record{At: now, Actor: sys, Action: "tenant.switch_mode", TenantID: "beta", Verdict: "allow"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{{ID: "ana", Email: "ana@acme.test", Name: "Ana"}, {ID: "bo", Email: "bo@acme.test", Name: "Bo"}} {
		u.TenantID, u.Role, u.CreatedAt, u.UpdatedAt = "acme", actor.RoleUser, now, now
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	f.people = auth.NewService(st, secrets.NewEnvelope(lk), st, auth.Options{})
	t.Cleanup(f.people.Close)
	f.mock = billing.NewMock(st, f.clock.Now)
	backends := billing.NewBackends(ps, f.mock, &http.Client{Transport: f.rec}, nil)
	f.svc = billing.NewService(st, f.people, ps, backends, billing.Options{Now: f.clock.Now, Mail: f.mails, Tenants: f, Events: st,
		StopPods: func(_ context.Context, t tenant.Tenant, userID string, by actor.Actor) (int, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.stopped = append(f.stopped, t.ID+"/"+userID+" by "+by.ID)
			return 1, nil
		}})
	t.Cleanup(f.svc.Close)
	f.sandbox = tenant.Tenant{ID: "acme", Name: "acme", Mode: mode.Sandbox}
	f.live = live
	return f
}

// set stores a parameter value at scope.
func (f *fixture) set(t testing.TB, sc params.Scope, key, value string) {
	t.Helper()
	if _, err := f.params.Set(context.Background(), sys, params.SetRequest{Scope: sc, Key: key, Value: value, Confirm: sc.Target()}); err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
}

// role is a user's stored role.
func (f *fixture) role(t *testing.T, userID string) actor.Role {
	t.Helper()
	u, err := f.st.UserByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Role
}
