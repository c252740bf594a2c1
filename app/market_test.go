package app

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

func TestCredentialsFingerprintFollowsOnlyCompleteLiveCredentials(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	set := func(tenant string, m mode.Mode, key, value string) {
		t.Helper()
		if _, err := p.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{
			Scope: params.Scope{TenantID: tenant, Mode: m}, Key: key, Value: value, Confirm: tenant}); err != nil {
			t.Fatal(err)
		}
	}
	fp := func() string { return credentialsFingerprint(p.Params.Snapshot(), "acme") }
	empty := fp()

	set("acme", mode.Live, "providers.lambda.api_key", "secret-1")
	withLambda := fp()
	if withLambda == empty {
		t.Fatal("a complete credential set did not change the fingerprint")
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
	if fp() == withLambda {
		t.Fatal("a rotated key kept the fingerprint")
	}
}
