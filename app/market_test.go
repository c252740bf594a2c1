package app

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

func TestLiveKeyFollowsOnlyCompleteLiveCredentialsOfALiveTenant(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	set := func(tenant string, m mode.Mode, key, value string) {
		t.Helper()
		if _, err := p.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{
			Scope: params.Scope{TenantID: tenant, Mode: m}, Key: key, Value: value, Confirm: tenant}); err != nil {
			t.Fatal(err)
		}
	}
	fp := func() string { return liveKey(ctx, p.Tenants, p.Params.Snapshot(), "acme") }
	switchTo := func(m mode.Mode) {
		t.Helper()
		if _, err := p.Tenants.SwitchMode(ctx, platformtest.Operator, "acme", m, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	set("acme", mode.Live, "stripe.secret_key", "sk_live_123")
	set("acme", mode.Live, "stripe.publishable_key", "pk_live_123")
	set("acme", mode.Live, "providers.lambda.api_key", "secret-1")
	if fp() != "" {
		t.Fatal("a SANDBOX tenant has a LIVE key")
	}
	switchTo(mode.Live)
	withLambda := fp()
	if withLambda == "" {
		t.Fatal("a LIVE tenant with complete credentials has no LIVE key")
	}
	if got := len(liveAdapters(p.Params.Snapshot(), "acme", nil)); got != 1 {
		t.Fatalf("%d LIVE adapters, want lambda alone", got)
	}
	set("acme", mode.Live, "providers.cudo.api_key", "half") // cudo also needs project_id
	set("acme", mode.Sandbox, "providers.runpod.api_key", "test-key")
	set("acme", "", "billing.markup_percent", "25")
	set("beta", mode.Live, "providers.vultr.api_key", "other-tenant")
	if fp() != withLambda {
		t.Fatal("an incomplete set, a SANDBOX key, an unrelated parameter or another tenant changed the fingerprint")
	}
	set("acme", mode.Live, "providers.lambda.api_key", "secret-2")
	rotated := fp()
	if rotated == withLambda || rotated == "" {
		t.Fatal("a rotated key kept the fingerprint")
	}
	switchTo(mode.Sandbox)
	if fp() != "" {
		t.Fatal("a tenant back in SANDBOX keeps its LIVE key")
	}
}
