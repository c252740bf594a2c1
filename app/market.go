package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"

	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/live"
	"github.com/gpubroker/pod/providers/sandbox"
	"github.com/gpubroker/pod/tenant"
)

// newMarket builds the SANDBOX aggregator over the simulated providers
// (their machines in the store, their behaviour from parameters) and the
// builder of each LIVE tenant's aggregator.
func newMarket(a *App) (*market.Market, error) {
	entries, err := sandbox.Catalog()
	if err != nil {
		return nil, fmt.Errorf("sandbox catalog: %w", err)
	}
	behaviour := func() sandbox.Behaviour {
		s := a.Params.Snapshot()
		return sandbox.Behaviour{Delay: s.Duration("", mode.Sandbox, "sandbox.provision_delay"),
			FailureRate: math.Max(0, s.Float("", mode.Sandbox, "sandbox.failure_rate"))}
	}
	sims := sandbox.Providers(entries, sandbox.Options{Machines: a.Store, Behaviour: behaviour})
	set := market.SettingsFrom(a.Params.Snapshot())
	// The stream opens after the market: a committed price event nudges
	// the relay once it runs.
	nudge := func() {
		if a.stream != nil {
			a.stream.relay.Nudge()
		}
	}
	sbx := market.NewAggregator(sandbox.Adapters(sims), market.Options{Mode: "sandbox", Settings: set,
		Recorder: newPriceRecorder(a.Store, "", nudge), Logger: a.log.With("mode", "sandbox")})
	return market.New(sbx, market.LiveBuilder{
		Build: func(ctx context.Context, tenantID string) (*market.Aggregator, error) {
			snap := a.Params.Snapshot()
			ads := liveAdapters(snap, tenantID, &http.Client{Timeout: market.SettingsFrom(snap).Timeout})
			return market.NewAggregator(ads, market.Options{Mode: "live", Settings: market.SettingsFrom(snap),
				Recorder: newPriceRecorder(a.Store, tenantID, nudge), Logger: a.log.With("mode", "live", "tenant", tenantID)}), nil
		},
		Credentials: func(ctx context.Context, tenantID string) string {
			return liveKey(ctx, a.Tenants, a.Params.Snapshot(), tenantID)
		},
	}), nil
}

// liveCredentials reads the credentials of every provider that is LIVE
// for the tenant, by provider id; the others stay inactive.
func liveCredentials(snap *params.Snapshot, tenantID string) map[string]map[string]string {
	return providers.LiveCredentials(func(key string) string { return snap.String(tenantID, mode.Live, key) })
}

// liveAdapters builds the LIVE adapter of every provider whose credentials
// the tenant has set in full.
func liveAdapters(snap *params.Snapshot, tenantID string, hc *http.Client) []providers.Adapter {
	var out []providers.Adapter
	creds := liveCredentials(snap, tenantID)
	for _, p := range providers.Supported {
		if c, ok := creds[p.ID]; ok {
			if ad, ok := live.New(p.ID, providers.Config{Credentials: c, HTTP: hc}); ok {
				out = append(out, ad)
			}
		}
	}
	return out
}

// liveKey is what a tenant's LIVE aggregator is built from: a digest of
// its complete LIVE credentials, so that a change to any of them (and to
// nothing else) rebuilds the aggregator, or "" when the tenant is not in
// LIVE, so that its aggregator is dropped. Only the digest is kept.
func liveKey(ctx context.Context, tenants *tenant.Service, snap *params.Snapshot, tenantID string) string {
	if t, err := tenants.Lookup(ctx, tenantID); err != nil || t.Mode != mode.Live {
		return ""
	}
	creds := liveCredentials(snap, tenantID)
	h := sha256.New()
	for _, p := range providers.Supported {
		c, ok := creds[p.ID]
		if !ok {
			continue
		}
		for _, name := range p.Credentials {
			fmt.Fprintf(h, "%s.%s=%d:%s\n", p.ID, name, len(c[name]), c[name])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
