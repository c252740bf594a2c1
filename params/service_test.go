package params_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

var admin = actor.Actor{Kind: actor.KindUser, ID: "u-admin", Role: actor.RolePodAdmin}

func catalog(t testing.TB) *params.Catalog {
	t.Helper()
	c, err := params.NewCatalog(params.Platform(), providers.CredentialParams())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sealer(t testing.TB) params.Sealer {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, err := secrets.NewLocalKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return secrets.NewEnvelope(lk)
}

// instance is one running platform's parameter system over a database.
type instance struct {
	st  *store.Store
	svc *params.Service
}

func newInstance(t testing.TB, url string, sl params.Sealer, opts ...params.Option) instance {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := params.NewService(catalog(t), st, sl, opts...)
	if err := svc.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return instance{st, svc}
}

func withTenant(t testing.TB, st *store.Store, id string) {
	t.Helper()
	ts := tenant.NewService(st, nil)
	if _, err := ts.Create(context.Background(), admin, id, "Tenant "+id); err != nil {
		t.Fatal(err)
	}
}

func set(t testing.TB, svc *params.Service, sc params.Scope, key, value string) params.Change {
	t.Helper()
	c, err := svc.Set(context.Background(), admin, params.SetRequest{Scope: sc, Key: key, Value: value, Confirm: sc.Target()})
	if err != nil {
		t.Fatalf("set %s at %s = %q: %v", key, sc, value, err)
	}
	return c
}

func TestResolutionIsMostSpecificFirst(t *testing.T) {
	in := newInstance(t, dbtest.New(t, "sqlite").URL, sealer(t))
	withTenant(t, in.st, "acme")
	withTenant(t, in.st, "beta")
	const key = "billing.markup_percent" // default 15
	snap := func() *params.Snapshot { return in.svc.Snapshot() }
	steps := []struct {
		name  string
		scope params.Scope
		value string
		want  map[string]float64 // reader "tenant/MODE" → value
	}{
		{"with nothing stored every reader sees the default", params.Scope{}, "",
			map[string]float64{"acme/SANDBOX": 15, "acme/LIVE": 15, "beta/LIVE": 15, "/LIVE": 15}},
		{"a global value overrides the default for everyone", params.Scope{}, "10",
			map[string]float64{"acme/SANDBOX": 10, "acme/LIVE": 10, "beta/LIVE": 10}},
		{"a global LIVE value overrides the global one in LIVE only", params.Scope{Mode: mode.Live}, "12",
			map[string]float64{"acme/SANDBOX": 10, "acme/LIVE": 12, "beta/LIVE": 12}},
		{"a tenant value overrides global values for that tenant", params.Scope{TenantID: "acme"}, "20",
			map[string]float64{"acme/SANDBOX": 20, "acme/LIVE": 20, "beta/LIVE": 12, "beta/SANDBOX": 10}},
		{"a tenant+mode value is the most specific", params.Scope{TenantID: "acme", Mode: mode.Sandbox}, "30",
			map[string]float64{"acme/SANDBOX": 30, "acme/LIVE": 20, "beta/SANDBOX": 10}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.value != "" {
				set(t, in.svc, st.scope, key, st.value)
			}
			for reader, want := range st.want {
				tn, m, _ := strings.Cut(reader, "/")
				if got := snap().Float(tn, mode.Mode(m), key); got != want {
					t.Errorf("reader %s sees %g, want %g", reader, got, want)
				}
			}
		})
	}
	t.Run("Resolve names the scope a value came from", func(t *testing.T) {
		_, src := snap().Resolve("acme", mode.Live, key)
		if src.Scope != (params.Scope{TenantID: "acme"}) || src.Default {
			t.Fatalf("source = %+v", src)
		}
		_, src = snap().Resolve("acme", mode.Live, "billing.currency")
		if !src.Default {
			t.Fatalf("source of an unset key = %+v, want default", src)
		}
	})
	t.Run("deleting a value falls back to the next scope", func(t *testing.T) {
		if _, err := in.svc.Delete(context.Background(), admin, params.Scope{TenantID: "acme", Mode: mode.Sandbox}, key, "acme"); err != nil {
			t.Fatal(err)
		}
		if got := snap().Float("acme", mode.Sandbox, key); got != 20 {
			t.Fatalf("after delete acme/SANDBOX sees %g, want 20", got)
		}
	})
	t.Run("an unknown key reads as the zero value", func(t *testing.T) {
		if v := snap().Get("acme", mode.Live, "no.such_key"); v.IsSet() || v.String() != "" {
			t.Fatalf("unknown key = %+v", v)
		}
	})
}

func TestSetRefusesBadInputAndSaysWhy(t *testing.T) {
	in := newInstance(t, dbtest.New(t, "sqlite").URL, sealer(t))
	withTenant(t, in.st, "acme")
	cases := []struct {
		name      string
		req       params.SetRequest
		kind      fault.Kind
		field     string
		mentions  []string
		confirmed string
	}{
		{"an unknown key names the key and its neighbours", params.SetRequest{Key: "billing.markup", Value: "1"},
			fault.KindInvalid, "key", []string{`"billing.markup"`, "billing.markup_percent"}, ""},
		{"a non-number names the key and the type", params.SetRequest{Key: "billing.markup_percent", Value: "lots"},
			fault.KindInvalid, "billing.markup_percent", []string{"want a number", `"lots"`}, ""},
		{"a number out of range names the rule", params.SetRequest{Key: "billing.markup_percent", Value: "900"},
			fault.KindInvalid, "billing.markup_percent", []string{"between 0 and 500"}, ""},
		{"a bad duration names the format", params.SetRequest{Key: "auth.access_token_ttl", Value: "soon"},
			fault.KindInvalid, "auth.access_token_ttl", []string{"duration"}, ""},
		{"an enum lists the allowed values", params.SetRequest{Key: "billing.currency", Value: "btc"},
			fault.KindInvalid, "billing.currency", []string{"usd, eur, gbp"}, ""},
		{"a bad URL says what a URL must be", params.SetRequest{Key: "stripe.api_url", Value: "localhost:12111"},
			fault.KindInvalid, "stripe.api_url", []string{"absolute http(s) URL"}, ""},
		{"bad JSON is refused", params.SetRequest{Key: "agent.model_options", Value: "{model:"},
			fault.KindInvalid, "agent.model_options", []string{"valid JSON"}, ""},
		{"an external MCP server list with a name used twice is refused",
			params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: "agent.mcp_servers", Confirm: "acme",
				Value: `[{"name":"quota","url":"https://a.test/mcp"},{"name":"quota","url":"https://b.test/mcp"}]`},
			fault.KindInvalid, "agent.mcp_servers", []string{"unique names"}, ""},
		{"an external MCP server that is not http(s) is refused",
			params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: "agent.mcp_servers", Confirm: "acme", Value: `[{"name":"quota","url":"file:///etc/passwd"}]`},
			fault.KindInvalid, "agent.mcp_servers", []string{"http(s) URLs"}, ""},
		{"headers for the external MCP servers must be an object of objects, and are not echoed",
			params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: "agent.mcp_headers", Confirm: "acme", Value: `{"quota":"sk_live_abc"}`},
			fault.KindInvalid, "agent.mcp_headers", []string{"server name to {header: value}", "not shown"}, ""},
		{"a live key in SANDBOX names the per-mode rule and hides the secret",
			params.SetRequest{Scope: params.Scope{Mode: mode.Sandbox}, Key: "stripe.secret_key", Value: "sk_live_abc"},
			fault.KindInvalid, "stripe.secret_key", []string{"sk_test_", "not shown"}, ""},
		{"a value for both modes must satisfy each mode's rule",
			params.SetRequest{Key: "stripe.secret_key", Value: "sk_test_abc"},
			fault.KindInvalid, "stripe.secret_key", []string{"in LIVE mode"}, ""},
		{"a platform-wide key cannot be set per tenant",
			params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: "platform.base_url", Value: "https://x.test"},
			fault.KindInvalid, "scope.tenant", []string{"platform-wide"}, ""},
		{"a SANDBOX-only key cannot be set for LIVE",
			params.SetRequest{Scope: params.Scope{Mode: mode.Live}, Key: "sandbox.failure_rate", Value: "0.1"},
			fault.KindInvalid, "scope.mode", []string{"only SANDBOX"}, ""},
		{"an unknown tenant is named", params.SetRequest{Scope: params.Scope{TenantID: "ghost"}, Key: "platform.name", Value: "x"},
			fault.KindInvalid, "scope.tenant", []string{`"ghost"`}, ""},
		{"an unknown mode is named", params.SetRequest{Scope: params.Scope{Mode: "STAGING"}, Key: "platform.name", Value: "x"},
			fault.KindInvalid, "scope.mode", []string{"STAGING"}, ""},
		{"a LIVE-affecting change without confirmation asks for the tenant id",
			params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: "billing.markup_percent", Value: "10"},
			fault.KindNeedsConfirmation, "", []string{"LIVE"}, "acme"},
		{"a wrong confirmation is refused the same way",
			params.SetRequest{Scope: params.Scope{Mode: mode.Live}, Key: "billing.markup_percent", Value: "10", Confirm: "acme"},
			fault.KindNeedsConfirmation, "", []string{"LIVE"}, "global"},
	}
	rev := in.svc.Snapshot().Rev
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := in.svc.Set(context.Background(), admin, c.req)
			fe, ok := fault.As(err)
			if !ok || fe.Kind != c.kind {
				t.Fatalf("err = %v, want kind %s", err, c.kind)
			}
			if c.field != "" && (len(fe.Problems) != 1 || fe.Problems[0].Field != c.field) {
				t.Fatalf("problems = %+v, want field %s", fe.Problems, c.field)
			}
			for _, m := range c.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if fe.Confirm != c.confirmed {
				t.Errorf("confirm phrase = %q, want %q", fe.Confirm, c.confirmed)
			}
			if strings.Contains(err.Error(), "sk_live_abc") {
				t.Errorf("error echoes a secret: %v", err)
			}
		})
	}
	if in.svc.Snapshot().Rev != rev {
		t.Fatal("a refused change moved the revision")
	}
	h, _ := in.svc.History(context.Background(), params.HistoryQuery{})
	if len(h) != 0 {
		t.Fatalf("refused changes left %d history entries", len(h))
	}
	t.Run("a SANDBOX-only change needs no confirmation", func(t *testing.T) {
		_, err := in.svc.Set(context.Background(), admin, params.SetRequest{Scope: params.Scope{TenantID: "acme", Mode: mode.Sandbox},
			Key: "billing.markup_percent", Value: "11"})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestSecretsAreSealedAtRestAndRedactedEverywhere(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		in := newInstance(t, b.URL, sealer(t))
		const secret = "sk_live_51Hx9supersecretvalue"
		live := params.Scope{Mode: mode.Live}
		c := set(t, in.svc, live, "stripe.secret_key", secret)
		set(t, in.svc, live, "stripe.secret_key", secret+"2")
		if got := in.svc.Snapshot().String("any", mode.Live, "stripe.secret_key"); got != secret+"2" {
			t.Fatalf("readers get %q, want the plain secret", got)
		}
		if *c.NewValue != params.Redacted || c.OldValue != nil {
			t.Fatalf("change = %+v", c)
		}
		var raw string
		var sealed bool
		if err := in.st.DB().QueryRowContext(ctx, `SELECT value, sealed FROM param_values WHERE key = 'stripe.secret_key'`).Scan(&raw, &sealed); err != nil {
			t.Fatal(err)
		}
		if !sealed || strings.Contains(raw, "sk_live") {
			t.Fatalf("stored value is not sealed: sealed=%v value=%q", sealed, raw)
		}
		h, _ := in.svc.History(ctx, params.HistoryQuery{Key: "stripe.secret_key"})
		for _, e := range h {
			for _, v := range []*string{e.OldValue, e.NewValue} {
				if v != nil && *v != params.Redacted {
					t.Fatalf("history holds %q", *v)
				}
			}
		}
		it, _ := in.svc.Get(params.ListQuery{Mode: mode.Live}, "stripe.secret_key")
		if it.Value != params.Redacted || !it.IsSet || len(it.Values) != 1 || it.Values[0].Value != params.Redacted {
			t.Fatalf("item = %+v", it)
		}
		f, err := in.svc.Export(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := f.Encode()
		if strings.Contains(string(b2), "sk_live") || !strings.Contains(string(b2), `"sealed"`) {
			t.Fatalf("export shows a secret or no seal:\n%s", b2)
		}
		t.Run("another master key cannot open the values", func(t *testing.T) {
			other := params.NewService(catalog(t), in.st, sealer(t))
			err := other.Reload(ctx)
			if err == nil || !strings.Contains(err.Error(), "key file") {
				t.Fatalf("reload with the wrong key = %v, want an error that points at the key file", err)
			}
		})
	})
}

func TestImportIsAllOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		sl := sealer(t)
		in := newInstance(t, b.URL, sl)
		withTenant(t, in.st, "acme")
		set(t, in.svc, params.Scope{}, "billing.markup_percent", "15")
		rev := in.svc.Snapshot().Rev

		bad := `{"format":"gpubroker-params","version":1,"exported_at":"2026-11-24T00:00:00Z","params":[
  {"key":"billing.markup_percent","value":"40"},
  {"tenant":"acme","key":"platform.name","value":"Acme POD"},
  {"key":"billing.currency","value":"btc"},
  {"key":"no.such_key","value":"1"},
  {"tenant":"ghost","key":"platform.name","value":"x"},
  {"mode":"LIVE","key":"stripe.secret_key","value":"sk_test_x"},
  {"key":"platform.name","sealed":"AAAA"},
  {"key":"billing.markup_percent","value":"41"}
]}`
		_, err := in.svc.Import(ctx, admin, []byte(bad), "acme,global")
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.KindInvalid {
			t.Fatalf("import of a bad file = %v, want invalid", err)
		}
		want := []string{"params[2].value", "params[3].key", "params[4].tenant", "params[5].value", "params[6].sealed", "params[7]"}
		if len(fe.Problems) != len(want) {
			t.Fatalf("problems = %+v, want %d", fe.Problems, len(want))
		}
		for i, p := range fe.Problems {
			if p.Field != want[i] {
				t.Errorf("problem %d at %s, want %s (%s)", i, p.Field, want[i], p.Message)
			}
		}
		if !strings.Contains(err.Error(), "nothing was applied") {
			t.Errorf("error does not say nothing was applied: %v", err)
		}
		if got := in.svc.Snapshot(); got.Rev != rev || got.Float("", mode.Sandbox, "billing.markup_percent") != 15 ||
			got.String("acme", mode.Sandbox, "platform.name") != "GPUBROKER POD" {
			t.Fatal("a rejected import changed values")
		}

		good := `{"format":"gpubroker-params","version":1,"exported_at":"2026-11-24T00:00:00Z","params":[
  {"key":"billing.markup_percent","value":"40"},
  {"tenant":"acme","mode":"SANDBOX","key":"platform.name","value":"Acme POD"},
  {"mode":"LIVE","key":"stripe.secret_key","value":"sk_live_imported"}
]}`
		t.Run("a plan validates like the import and applies nothing", func(t *testing.T) {
			if _, err := in.svc.PlanImport(ctx, []byte(bad)); err == nil || len(mustFault(t, err).Problems) != len(want) {
				t.Fatalf("plan of the bad file = %v, want its %d problems", err, len(want))
			}
			plan, err := in.svc.PlanImport(ctx, []byte(good))
			if err != nil {
				t.Fatal(err)
			}
			if plan.Confirm != "global" || len(plan.Changes) != 3 {
				t.Fatalf("plan = %+v, want 3 changes confirmed by global", plan)
			}
			if c := plan.Changes[0]; c.Key != "billing.markup_percent" || c.Old == nil || *c.Old != "15" || c.New != "40" {
				t.Errorf("first change = %+v, want markup 15 → 40", c)
			}
			if c := plan.Changes[2]; c.Old != nil || c.New != params.Redacted {
				t.Errorf("the secret's change = %+v, want a new redacted value", c)
			}
			if in.svc.Snapshot().Rev != rev {
				t.Fatal("planning an import changed values")
			}
		})

		_, err = in.svc.Import(ctx, admin, []byte(good), "")
		fe, _ = fault.As(err)
		if fe == nil || fe.Kind != fault.KindNeedsConfirmation || fe.Confirm != "global" {
			t.Fatalf("unconfirmed import = %v, want a request to confirm \"global\"", err)
		}
		res, err := in.svc.Import(ctx, admin, []byte(good), "global")
		if err != nil || res.Applied != 3 {
			t.Fatalf("import = %+v, %v", res, err)
		}
		snap := in.svc.Snapshot()
		if snap.Float("", mode.Sandbox, "billing.markup_percent") != 40 || snap.String("acme", mode.Sandbox, "platform.name") != "Acme POD" ||
			snap.String("", mode.Live, "stripe.secret_key") != "sk_live_imported" {
			t.Fatal("imported values are not visible")
		}
		h, _ := in.svc.History(ctx, params.HistoryQuery{Key: "billing.markup_percent", Limit: 1})
		if len(h) != 1 || h[0].Action != "import" || *h[0].OldValue != "15" || *h[0].NewValue != "40" {
			t.Fatalf("import history = %+v", h)
		}

		t.Run("an export re-imports into a fresh installation with the same key", func(t *testing.T) {
			f, err := in.svc.Export(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			data, _ := f.Encode()
			fresh := newInstance(t, dbtest.New(t, b.Name).URL, sl)
			withTenant(t, fresh.st, "acme")
			if _, err := fresh.svc.Import(ctx, admin, data, "global"); err != nil {
				t.Fatal(err)
			}
			if got := fresh.svc.Snapshot().String("", mode.Live, "stripe.secret_key"); got != "sk_live_imported" {
				t.Fatalf("secret after re-import = %q", got)
			}
		})
	})
}

func TestImportRejectsMalformedFiles(t *testing.T) {
	in := newInstance(t, dbtest.New(t, "sqlite").URL, sealer(t))
	cases := []struct {
		name, file, mention string
	}{
		{"broken JSON names line and column", "{\n  \"format\": \"gpubroker-params\",\n  \"version\": 1,\n  \"params\": [\n    {\"key\": }\n]}", "line 5, column"},
		{"an unknown field is named", `{"format":"gpubroker-params","version":1,"params":[],"extra":1}`, `"extra"`},
		{"a wrong field type is located", `{"format":"gpubroker-params","version":"1","params":[]}`, "line 1"},
		{"trailing data is refused", `{"format":"gpubroker-params","version":1,"params":[]} {}`, "after the JSON"},
		{"another format is refused", `{"format":"something-else","version":1,"params":[]}`, "gpubroker-params"},
		{"a future version is refused", `{"format":"gpubroker-params","version":2,"params":[]}`, "want 1"},
		{"a missing value is named", `{"format":"gpubroker-params","version":1,"params":[{"key":"platform.name"}]}`, "params[0].value"},
		{"a duplicate entry is named", `{"format":"gpubroker-params","version":1,"params":[{"key":"platform.name","value":"a"},{"key":"platform.name","value":"b"}]}`, "params[1]"},
		{"an empty file is refused", ``, "malformed JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := in.svc.Import(context.Background(), admin, []byte(c.file), "global")
			if fault.KindOf(err) != fault.KindInvalid || !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("err = %v, want invalid mentioning %q", err, c.mention)
			}
		})
	}
}

// TestHotReloadAcrossTwoInstances runs two instances on one database: a
// change made through one is visible in the other within a second, with no
// restart.
func TestHotReloadAcrossTwoInstances(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		sl := sealer(t)
		a := newInstance(t, b.URL, sl)
		other := newInstance(t, b.URL, sl)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = other.svc.Watch(ctx) }()
		defer func() { cancel(); wg.Wait() }()
		time.Sleep(100 * time.Millisecond)

		for i, v := range []string{"Alpha", "Beta", "Gamma"} {
			start := time.Now()
			set(t, a.svc, params.Scope{}, "platform.name", v)
			deadline := time.Now().Add(time.Second)
			for other.svc.Snapshot().String("", mode.Sandbox, "platform.name") != v {
				if time.Now().After(deadline) {
					t.Fatalf("change %d (%s) not visible in the other instance within 1s", i, v)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("%s: change %d visible in the other instance after %s", b.Name, i, time.Since(start).Round(time.Millisecond))
		}
	})
}

// memValues is a small fake of the AWS value store for the service's logic.
type memValues struct {
	mu     sync.Mutex
	m      map[string]params.Stored
	failOn string
	puts   int
}

func (f *memValues) LoadValues(context.Context) ([]params.Stored, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []params.Stored
	for _, v := range f.m {
		out = append(out, v)
	}
	return out, nil
}

func (f *memValues) PutValues(_ context.Context, ws []params.Write) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range ws {
		if w.Key == f.failOn {
			return errors.New("AccessDeniedException")
		}
		f.puts++
		id := w.Scope.String() + "/" + w.Key
		if w.Delete {
			delete(f.m, id)
			continue
		}
		if w.Sealed {
			return errors.New("the value store must receive plain text")
		}
		f.m[id] = params.Stored{Scope: w.Scope, Key: w.Key, Value: w.Value}
	}
	return nil
}

func TestValuesKeptOutsideTheDatabase(t *testing.T) {
	ctx := context.Background()
	vs := &memValues{m: map[string]params.Stored{}}
	in := newInstance(t, dbtest.New(t, "sqlite").URL, sealer(t), params.WithValueStore(vs))
	set(t, in.svc, params.Scope{}, "billing.markup_percent", "20")
	set(t, in.svc, params.Scope{Mode: mode.Live}, "stripe.secret_key", "sk_live_aws")
	if got := in.svc.Snapshot().String("", mode.Live, "stripe.secret_key"); got != "sk_live_aws" {
		t.Fatalf("secret = %q", got)
	}
	var n int
	_ = in.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM param_values`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d values landed in the database", n)
	}
	h, _ := in.svc.History(ctx, params.HistoryQuery{Key: "billing.markup_percent"})
	if len(h) != 1 || *h[0].NewValue != "20" {
		t.Fatalf("history = %+v", h)
	}
	t.Run("a failed import is rolled back in the value store", func(t *testing.T) {
		vs.failOn = "billing.currency"
		file := `{"format":"gpubroker-params","version":1,"params":[
			{"mode":"SANDBOX","key":"billing.markup_percent","value":"33"},
			{"mode":"SANDBOX","key":"platform.name","value":"X"},
			{"mode":"SANDBOX","key":"billing.currency","value":"eur"}]}`
		_, err := in.svc.Import(ctx, admin, []byte(file), "")
		if fault.KindOf(err) != fault.KindUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if err := in.svc.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		snap := in.svc.Snapshot()
		if snap.Float("", mode.Sandbox, "billing.markup_percent") != 20 || snap.String("", mode.Sandbox, "platform.name") != "GPUBROKER POD" {
			t.Fatal("the partial import was not rolled back")
		}
	})
}

func TestListShowsModesRulesAndEveryStoredValue(t *testing.T) {
	in := newInstance(t, dbtest.New(t, "sqlite").URL, sealer(t))
	withTenant(t, in.st, "acme")
	withTenant(t, in.st, "beta")
	set(t, in.svc, params.Scope{TenantID: "acme"}, "billing.markup_percent", "20")
	set(t, in.svc, params.Scope{TenantID: "beta"}, "billing.markup_percent", "30")
	items := in.svc.List(params.ListQuery{TenantID: "acme", Mode: mode.Sandbox, Prefix: "billing."})
	if len(items) != 3 { // currency, markup, storage
		t.Fatalf("items = %d", len(items))
	}
	it := items[1]
	if it.Key != "billing.markup_percent" || it.Value != "20" || it.Source.Scope.TenantID != "acme" ||
		len(it.Affects) != 2 || len(it.Rules) != 1 || len(it.Values) != 1 {
		t.Fatalf("item = %+v", it)
	}
	sb := in.svc.List(params.ListQuery{Prefix: "sandbox."})
	if len(sb) != 2 || len(sb[0].Affects) != 1 || sb[0].Affects[0] != mode.Sandbox {
		t.Fatalf("sandbox items = %+v", sb)
	}
	creds := in.svc.List(params.ListQuery{Group: providers.CredentialGroup("lambda")})
	if len(creds) != 1 || creds[0].Type != params.TypeSecret {
		t.Fatalf("lambda credentials = %+v", creds)
	}
	b, _ := json.Marshal(it)
	if !strings.Contains(string(b), `"affects":["SANDBOX","LIVE"]`) {
		t.Fatalf("item JSON = %s", b)
	}
}

func mustFault(t *testing.T, err error) *fault.Error {
	t.Helper()
	fe, ok := fault.As(err)
	if !ok {
		t.Fatalf("%v is not a domain error", err)
	}
	return fe
}
