package tenant_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
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

type fixture struct {
	st      *store.Store
	params  *params.Service
	tenants *tenant.Service
}

func setup(t *testing.T, url string) fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := params.NewCatalog(params.Platform(), providers.CredentialParams())
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
	return fixture{st, ps, tenant.NewService(st, tenant.NewLiveCheck(ps))}
}

func (f fixture) set(t *testing.T, sc params.Scope, key, value string) {
	t.Helper()
	if _, err := f.params.Set(context.Background(), admin, params.SetRequest{Scope: sc, Key: key, Value: value, Confirm: sc.Target()}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateValidatesAndStartsInSandbox(t *testing.T) {
	f := setup(t, dbtest.New(t, "sqlite").URL)
	ctx := context.Background()
	for _, c := range []struct{ name, id, tname, field string }{
		{"an upper-case id is refused", "Acme", "Acme", "id"},
		{"a one-letter id is refused", "a", "A", "id"},
		{"an id with a space is refused", "ac me", "A", "id"},
		{"an empty name is refused", "acme", "  ", "name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.tenants.Create(ctx, admin, c.id, c.tname)
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.KindInvalid || fe.Problems[0].Field != c.field {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
	tn, err := f.tenants.Create(ctx, admin, "acme", " Acme ")
	if err != nil || tn.Mode != mode.Sandbox || tn.Name != "Acme" {
		t.Fatalf("create = %+v, %v", tn, err)
	}
	if _, err := f.tenants.Create(ctx, admin, "acme", "Again"); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("duplicate = %v", err)
	}
}

func TestSwitchingToLiveNeedsKeysCredentialsAndConfirmation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		f := setup(t, b.URL)
		ctx := context.Background()
		if _, err := f.tenants.Create(ctx, admin, "acme", "Acme"); err != nil {
			t.Fatal(err)
		}
		switchLive := func(confirm string) (tenant.Tenant, *fault.Error) {
			tn, err := f.tenants.SwitchMode(ctx, admin, "acme", mode.Live, confirm)
			fe, _ := fault.As(err)
			if err != nil && fe == nil {
				t.Fatalf("unexpected error %v", err)
			}
			return tn, fe
		}
		t.Run("with nothing set it lists every missing thing", func(t *testing.T) {
			_, fe := switchLive("acme")
			if fe == nil || fe.Kind != fault.KindConflict || len(fe.Missing) != 3 {
				t.Fatalf("err = %+v, want 3 missing items", fe)
			}
			msg := fe.Error()
			for _, want := range []string{"stripe.secret_key for LIVE", "stripe.publishable_key for LIVE", "at least one provider"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not mention %q", msg, want)
				}
			}
		})
		t.Run("test keys in SANDBOX do not count for LIVE", func(t *testing.T) {
			f.set(t, params.Scope{TenantID: "acme", Mode: mode.Sandbox}, "stripe.secret_key", "sk_test_123")
			if _, fe := switchLive("acme"); fe == nil || len(fe.Missing) != 3 {
				t.Fatalf("err = %+v", fe)
			}
		})
		t.Run("live Stripe keys leave only the provider credential missing", func(t *testing.T) {
			f.set(t, params.Scope{TenantID: "acme", Mode: mode.Live}, "stripe.secret_key", "sk_live_123")
			f.set(t, params.Scope{Mode: mode.Live}, "stripe.publishable_key", "pk_live_123")
			if _, fe := switchLive("acme"); fe == nil || len(fe.Missing) != 1 || !strings.Contains(fe.Missing[0], "provider") {
				t.Fatalf("err = %+v", fe)
			}
		})
		t.Run("a provider with only part of its credentials does not count", func(t *testing.T) {
			f.set(t, params.Scope{TenantID: "acme", Mode: mode.Live}, "providers.aws.access_key_id", "AKIA123")
			if _, fe := switchLive("acme"); fe == nil || len(fe.Missing) != 1 {
				t.Fatalf("err = %+v", fe)
			}
		})
		f.set(t, params.Scope{TenantID: "acme", Mode: mode.Live}, "providers.lambda.api_key", "secret_lambda")
		t.Run("once ready it still asks for the tenant id", func(t *testing.T) {
			for _, confirm := range []string{"", "yes", "ACME"} {
				if _, fe := switchLive(confirm); fe == nil || fe.Kind != fault.KindNeedsConfirmation || fe.Confirm != "acme" {
					t.Fatalf("confirm %q: err = %+v", confirm, fe)
				}
			}
		})
		t.Run("with the confirmation it goes LIVE and records who, when, from and to", func(t *testing.T) {
			tn, fe := switchLive("acme")
			if fe != nil || tn.Mode != mode.Live {
				t.Fatalf("switch = %+v, %v", tn, fe)
			}
			recs, _ := f.st.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: "tenant.switch_mode"})
			if len(recs) != 1 {
				t.Fatalf("audit = %+v", recs)
			}
			var in map[string]string
			_ = json.Unmarshal(recs[0].Input, &in)
			if in["from"] != "SANDBOX" || in["to"] != "LIVE" || recs[0].Actor.ID != admin.ID || recs[0].At.IsZero() {
				t.Fatalf("audit record = %+v input %s", recs[0], recs[0].Input)
			}
		})
		t.Run("switching to the current mode changes and records nothing", func(t *testing.T) {
			if _, fe := switchLive(""); fe != nil {
				t.Fatal(fe)
			}
			recs, _ := f.st.QueryAudit(ctx, audit.Filter{Action: "tenant.switch_mode"})
			if len(recs) != 1 {
				t.Fatalf("%d switch records", len(recs))
			}
		})
		t.Run("a LIVE tenant cannot be deleted", func(t *testing.T) {
			if err := f.tenants.Delete(ctx, admin, "acme", "acme"); fault.KindOf(err) != fault.KindConflict {
				t.Fatalf("delete = %v", err)
			}
		})
		t.Run("going back to SANDBOX needs confirmation too", func(t *testing.T) {
			_, err := f.tenants.SwitchMode(ctx, admin, "acme", mode.Sandbox, "")
			if fault.KindOf(err) != fault.KindNeedsConfirmation {
				t.Fatalf("err = %v", err)
			}
			tn, err := f.tenants.SwitchMode(ctx, admin, "acme", mode.Sandbox, "acme")
			if err != nil || tn.Mode != mode.Sandbox {
				t.Fatalf("switch back = %+v, %v", tn, err)
			}
		})
		t.Run("an unknown mode or tenant is refused", func(t *testing.T) {
			if _, err := f.tenants.SwitchMode(ctx, admin, "acme", "STAGING", "acme"); fault.KindOf(err) != fault.KindInvalid {
				t.Fatalf("err = %v", err)
			}
			if _, err := f.tenants.SwitchMode(ctx, admin, "ghost", mode.Live, "ghost"); fault.KindOf(err) != fault.KindNotFound {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("deletion needs the tenant id and removes it", func(t *testing.T) {
			if err := f.tenants.Delete(ctx, admin, "acme", ""); fault.KindOf(err) != fault.KindNeedsConfirmation {
				t.Fatalf("err = %v", err)
			}
			if err := f.tenants.Delete(ctx, admin, "acme", "acme"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.tenants.Get(ctx, "acme"); fault.KindOf(err) != fault.KindNotFound {
				t.Fatalf("get after delete = %v", err)
			}
		})
	})
}
