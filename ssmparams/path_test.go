package ssmparams

import (
	"testing"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

func TestPath(t *testing.T) {
	acme := func(m mode.Mode) params.Scope { return params.Scope{TenantID: "acme", Mode: m} }
	tests := []struct {
		name   string
		prefix string
		scope  params.Scope
		key    string
		want   string
	}{
		{"a global value for both modes sits under global/all", "", params.Global, "stripe.secret_key", "/gpubroker/global/all/stripe.secret_key"},
		{"a global SANDBOX value sits under global/SANDBOX", "", params.Scope{Mode: mode.Sandbox}, "app.greeting", "/gpubroker/global/SANDBOX/app.greeting"},
		{"a global LIVE value sits under global/LIVE", "", params.Scope{Mode: mode.Live}, "app.greeting", "/gpubroker/global/LIVE/app.greeting"},
		{"a tenant value for both modes sits under tenants/id/all", "", acme(""), "app.greeting", "/gpubroker/tenants/acme/all/app.greeting"},
		{"a tenant SANDBOX value sits under tenants/id/SANDBOX", "", acme(mode.Sandbox), "app.greeting", "/gpubroker/tenants/acme/SANDBOX/app.greeting"},
		{"a tenant LIVE value sits under tenants/id/LIVE", "", acme(mode.Live), "stripe.secret_key", "/gpubroker/tenants/acme/LIVE/stripe.secret_key"},
		{"a custom prefix gets one leading slash and loses the trailing one", "app/params/", acme(mode.Live), "a.b", "/app/params/tenants/acme/LIVE/a.b"},
		{"a root prefix falls back to the default", "/", params.Global, "a.b", "/gpubroker/global/all/a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Path(tt.prefix, tt.scope, tt.key)
			if got != tt.want {
				t.Fatalf("Path = %q, want %q", got, tt.want)
			}
			sc, key, err := parseName(cleanPrefix(tt.prefix), got)
			if err != nil || sc != tt.scope || key != tt.key {
				t.Fatalf("parseName(%q) = %v, %q, %v; want %v, %q", got, sc, key, err, tt.scope, tt.key)
			}
		})
	}
}

func TestParseNameRefusesNamesOutsideTheLayout(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"a name under another prefix is refused", "/other/global/LIVE/a.b"},
		{"a name that only shares the prefix's first letters is refused", "/gpubroker2/global/LIVE/a.b"},
		{"an unknown mode segment is refused", "/gpubroker/global/weekly/a.b"},
		{"a lower-case mode segment is refused", "/gpubroker/tenants/acme/live/a.b"},
		{"a name without a key is refused", "/gpubroker/tenants/acme/LIVE"},
		{"an empty key is refused", "/gpubroker/global/LIVE/"},
		{"an empty tenant is refused", "/gpubroker/tenants//LIVE/a.b"},
		{"a key with a slash is refused", "/gpubroker/global/LIVE/a/b"},
		{"an unknown top level is refused", "/gpubroker/users/bob/LIVE/a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sc, key, err := parseName(DefaultPrefix, tt.path); err == nil {
				t.Fatalf("parseName(%q) = %v, %q; want an error", tt.path, sc, key)
			}
		})
	}
}
