package live

import (
	"testing"

	"github.com/gpubroker/pod/providers"
)

// TestEveryAdapterIsASupportedProvisioner checks the list against the
// supported providers: each adapter answers for its own id, manages
// instances, and takes only credentials the provider declares.
func TestEveryAdapterIsASupportedProvisioner(t *testing.T) {
	supported := map[string]bool{}
	for _, p := range providers.Supported {
		supported[p.ID] = true
	}
	for _, id := range IDs() {
		if !supported[id] {
			t.Errorf("adapter %s is not in providers.Supported", id)
		}
		a, ok := New(id, providers.Config{Credentials: map[string]string{}})
		if !ok || a.Provider() != id {
			t.Errorf("adapter %s answers as %q", id, a.Provider())
		}
		if _, ok := a.(providers.Provisioner); !ok {
			t.Errorf("adapter %s cannot manage instances", id)
		}
	}
	if _, ok := New("nope", providers.Config{}); ok {
		t.Error("an unknown provider must have no adapter")
	}
}
