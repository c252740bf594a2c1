// Package platformtest builds a whole platform for tests of the faces: a
// real store on the chosen backend, parameters, tenants (default, acme,
// beta), identity, the audit writer, the SANDBOX market of simulated
// providers and the tools registry with the core, offer, pod, fleet,
// mail, billing (the mock payment processor), Slack, notify and external
// (the tenants' outside MCP servers, through package mcpclient) toolsets,
// plus a token table standing in for sign-in where a test does not need
// real tokens.
package platformtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mcpclient"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/sandbox"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// Actors every platform knows, by bearer token.
var (
	Operator  = actor.Actor{Kind: actor.KindUser, ID: "op", TenantID: "default", Role: actor.RolePodAdmin}
	AcmeAdmin = actor.Actor{Kind: actor.KindUser, ID: "acme-admin", TenantID: "acme", Role: actor.RolePodAdmin}
	AcmeUser  = actor.Actor{Kind: actor.KindUser, ID: "acme-user", TenantID: "acme", Role: actor.RoleUser}
	AcmePro   = actor.Actor{Kind: actor.KindUser, ID: "acme-pro", TenantID: "acme", Role: actor.RoleProUser}
	BetaAdmin = actor.Actor{Kind: actor.KindUser, ID: "beta-admin", TenantID: "beta", Role: actor.RolePodAdmin}
)

// Clock is the registry's clock: real time plus an offset a test advances
// (to expire an approval, say).
type Clock struct{ offset atomic.Int64 }

// Now implements the registry's clock.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Tokens is a small fake authenticator: token text → actor.
type Tokens map[string]actor.Actor

// Authenticate implements api.Authenticator.
func (t Tokens) Authenticate(_ context.Context, bearer string) (actor.Actor, error) {
	a, ok := t[bearer]
	if !ok {
		return actor.Actor{}, fault.Unauthenticated("unknown token")
	}
	return a, nil
}

// Platform is the assembled platform.
type Platform struct {
	Store    *store.Store
	Params   *params.Service
	Tenants  *tenant.Service
	Audit    *audit.Writer
	Identity *auth.Service
	Registry *tools.Registry
	Market   *market.Market
	// Mail asks for mail and delivers it to the mailbox (no worker runs:
	// a test delivers what it needs).
	Mail *mail.Service
	// Billing runs plans, payment setup and subscriptions; SANDBOX
	// tenants without Stripe keys pay the mock processor.
	Billing *billing.Service
	// External reaches the MCP servers each tenant names in
	// agent.mcp_servers (call_external_tool calls through it).
	External *mcpclient.Servers
	// Sealer seals with the platform's local key.
	Sealer secrets.Sealer
	Tokens Tokens
	Clock  *Clock
}

// simNow is the simulated time of every test platform in this process.
var simNow = time.Now().UTC().Truncate(time.Minute)

// New assembles a platform on backend ("sqlite" or "postgres").
func New(t testing.TB, backend string) *Platform {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.New(t, backend).URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := params.NewCatalog(params.Platform(), providers.CredentialParams(), market.Params(), mail.Params(), billing.Params(), decision.Params(), notify.Params())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, _ := secrets.NewLocalKey(key)
	ps := params.NewService(cat, st, secrets.NewEnvelope(lk))
	if err := ps.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// The fixture's actors are not stored people, so each holds the FREE
	// plan: it is opened up (every GPU, any number of pods) for the tests
	// that are not about plans; those set it back.
	for key, v := range map[string]string{"plans.free.gpu_classes": "*", "plans.free.max_running_pods": "0"} {
		if _, err := ps.Set(ctx, Operator, params.SetRequest{Key: key, Value: v, Confirm: "global"}); err != nil {
			t.Fatal(err)
		}
	}
	ts := tenant.NewService(st, tenant.NewLiveCheck(ps))
	for _, id := range []string{"default", "acme", "beta"} {
		if _, err := ts.Create(ctx, actor.System("test"), id, id); err != nil {
			t.Fatal(err)
		}
	}
	w := audit.NewWriter(st, 256, nil)
	t.Cleanup(w.Close)
	clock := &Clock{}
	ms := mail.NewService(st, mail.Options{Now: clock.Now})
	id := auth.NewService(st, secrets.NewEnvelope(lk), st, auth.Options{Mail: ms, Clock: clock.Now,
		BaseURL: func() string { return ps.Snapshot().String("", "", "platform.base_url") }})
	t.Cleanup(id.Close)
	reg := tools.NewRegistry(tools.Deps{Tenants: ts, Limits: tools.ParamLimits{Params: ps}, Budget: st, Audit: w, Approvals: st, Now: clock.Now})
	tools.RegisterCore(reg, tools.Services{Tenants: ts, Params: ps, Audit: st, Identity: id, Flush: w.Flush})
	entries, err := sandbox.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	// One simulated clock, stopped at the minute the test binary started,
	// gives every platform of a test the same prices and availability
	// whenever it was built, and keeps the stored price points within the
	// recent hours that price_history reads.
	sims := sandbox.Providers(entries, sandbox.Options{Machines: st, Now: func() time.Time { return simNow }})
	mkt := market.New(market.NewAggregator(sandbox.Adapters(sims),
		market.Options{Mode: "sandbox", Settings: market.SettingsFrom(ps.Snapshot()), Recorder: st}), market.LiveBuilder{})
	t.Cleanup(mkt.Close)
	var weights market.WeightsMemo
	offers := tools.OfferServices{Markets: mkt, Prices: st,
		Weights: func(tenantID string, m mode.Mode) market.Weights { return weights.From(ps.Snapshot(), tenantID, m) }}
	tools.RegisterOffers(reg, offers)
	bs := billing.NewService(st, id, ps, billing.NewBackends(ps, billing.NewMock(st, clock.Now), nil, nil), billing.Options{Now: clock.Now, Mail: ms, Events: st})
	t.Cleanup(bs.Close)
	podService := pods.NewService(st, clock.Now)
	podService.HoldFunds(st)
	podService.LimitPods(tools.PlanLimit(ts, bs))
	tools.RegisterPods(reg, tools.PodServices{Offers: offers, Pods: podService, Plans: bs, Storage: tools.PodStorage(ps), Deploy: tools.PodDeploy(ps)})
	tools.RegisterMail(reg, tools.MailServices{Mail: ms, Users: st})
	tools.RegisterUsage(reg, tools.UsageServices{Usages: st, Ledger: st})
	tools.RegisterBilling(reg, tools.BillingServices{Billing: bs})
	tools.RegisterSlack(reg, tools.SlackServices{Users: st})
	tools.RegisterFleet(reg, tools.FleetServices{Fleet: st})
	tools.RegisterSystem(reg, tools.SystemServices{System: st, Params: ps})
	notifier := notify.New(st, st, ms, notify.Options{Now: clock.Now,
		BaseURL: func() string { return ps.Snapshot().BaseURL() },
		Settings: func(ctx context.Context, tenantID string) notify.Settings {
			tn, _ := ts.Lookup(ctx, tenantID)
			return notify.SettingsFrom(ps.Snapshot(), tenantID, tn.Mode)
		}})
	tools.RegisterNotify(reg, tools.NotifyServices{Notifier: notifier})
	external := mcpclient.New(mcpclient.Options{Timeout: 10 * time.Second, Version: "test",
		Servers: func(ctx context.Context, tenantID string) ([]mcpclient.Server, error) {
			tn, err := ts.Lookup(ctx, tenantID)
			if err != nil {
				return nil, err
			}
			return mcpclient.ServersFrom(ps.Snapshot(), tenantID, tn.Mode)
		}})
	t.Cleanup(external.Close)
	tools.RegisterExternal(reg, tools.ExternalServices{Servers: external})
	return &Platform{Store: st, Params: ps, Tenants: ts, Audit: w, Identity: id, Registry: reg, Market: mkt, Mail: ms, Billing: bs, External: external, Sealer: secrets.NewEnvelope(lk),
		Tokens: Tokens{"op": Operator, "acme-admin": AcmeAdmin, "acme-user": AcmeUser, "acme-pro": AcmePro, "beta-admin": BetaAdmin},
		Clock:  clock}
}

// GoLive puts a tenant in LIVE straight through the store, for tests
// about what a LIVE tenant does rather than about switching.
func (p *Platform) GoLive(t testing.TB, tenantID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.Store.SwitchTenantMode(ctx, tenantID, mode.Sandbox, mode.Live, audit.Record{At: time.Now().UTC(),
		Actor: actor.System("test"), Action: "tenant.switch_mode", TenantID: tenantID, Verdict: "allow"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Tenants.Reload(ctx); err != nil {
		t.Fatal(err)
	}
}

// Mailbox does what the delivery worker does with the mail queued so far
// (no worker runs in a test platform) and returns what a tenant's address
// to received, newest first.
func (p *Platform) Mailbox(t testing.TB, tenantID, to string) []mail.Record {
	t.Helper()
	ctx := context.Background()
	pending, err := p.Store.PendingEvents(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		if e.Type != mail.EventRequested {
			continue
		}
		var m mail.Message
		if err := json.Unmarshal(e.Payload, &m); err != nil {
			t.Fatal(err)
		}
		// Delivering twice sends once: the mailbox keeps each message id.
		if err := p.Mail.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	list, err := p.Mail.List(ctx, mail.Filter{TenantID: tenantID, To: to, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// Person stores the person behind an actor id: a user of tenantID with
// this email and name, in role. The fixture's actors are not stored until
// a test needs one to be (to be mailed, to pay).
func (p *Platform) Person(t testing.TB, tenantID, id, email, name string, role actor.Role) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := p.Store.CreateUser(context.Background(), auth.User{ID: id, TenantID: tenantID, Email: email, Name: name, Role: role,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}
