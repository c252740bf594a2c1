package tenant

import (
	"context"
	"strings"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/providers"
)

// LiveCheck is the rule for going LIVE (R2): the tenant must read live
// Stripe keys, and at least one provider must be LIVE for it (see
// providers.LiveCredentials), in LIVE mode. It reads the parameter
// snapshot, so it sees values set at any scope that a LIVE reader of the
// tenant would see.
type LiveCheck struct {
	params *params.Service
	// Required keys must each hold a value valid for LIVE.
	Required []string
}

// StripeLiveKeys are the Stripe parameters a LIVE tenant needs.
var StripeLiveKeys = []string{"stripe.secret_key", "stripe.publishable_key"}

// NewLiveCheck builds the rule over p.
func NewLiveCheck(p *params.Service) *LiveCheck {
	return &LiveCheck{params: p, Required: StripeLiveKeys}
}

// MissingForLive lists, in words, what the tenant lacks before it may go
// LIVE; nil means ready.
func (c *LiveCheck) MissingForLive(_ context.Context, tenantID string) []string {
	snap, cat := c.params.Snapshot(), c.params.Catalog()
	var missing []string
	for _, key := range c.Required {
		spec, ok := cat.Spec(key)
		v := snap.String(tenantID, mode.Live, key)
		switch {
		case !ok:
			missing = append(missing, key+" (not declared)")
		case v == "":
			missing = append(missing, key+" for LIVE")
		default:
			if _, err := spec.Validate(mode.Live, v); err != nil {
				missing = append(missing, key+" for LIVE ("+err.Error()+")")
			}
		}
	}
	live := providers.LiveCredentials(func(key string) string { return snap.String(tenantID, mode.Live, key) })
	if len(live) > 0 {
		return missing
	}
	prefixes := make([]string, len(providers.Supported))
	for i, p := range providers.Supported {
		prefixes[i] = providers.CredentialKey(p.ID, "*")
	}
	hint := ""
	if len(prefixes) > 0 {
		hint = " (one of " + strings.Join(prefixes[:min(len(prefixes), 4)], ", ")
		if len(prefixes) > 4 {
			hint += ", …"
		}
		hint += ")"
	}
	return append(missing, "LIVE credentials for at least one provider"+hint)
}
