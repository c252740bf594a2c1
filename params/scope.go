package params

import (
	"fmt"

	"github.com/gpubroker/pod/mode"
)

// Scope says where a stored value applies: the whole platform or one tenant,
// one mode or both. The zero Scope is global for both modes.
type Scope struct {
	TenantID string    `json:"tenant,omitempty"`
	Mode     mode.Mode `json:"mode,omitempty"`
}

// Global is the platform-wide scope for both modes.
var Global = Scope{}

// IsGlobal reports whether the scope is platform-wide.
func (s Scope) IsGlobal() bool { return s.TenantID == "" }

// Target names what a confirmation must name: the tenant id, or "global".
func (s Scope) Target() string {
	if s.TenantID == "" {
		return "global"
	}
	return s.TenantID
}

// TouchesLive reports whether a value in this scope can be read in LIVE mode.
func (s Scope) TouchesLive() bool { return s.Mode == "" || s.Mode == mode.Live }

func (s Scope) String() string {
	m := "all"
	if s.Mode != "" {
		m = string(s.Mode)
	}
	return fmt.Sprintf("%s/%s", s.Target(), m)
}

func (s Scope) check() error {
	if s.Mode != "" && !s.Mode.Valid() {
		return fmt.Errorf("unknown mode %q: want SANDBOX, LIVE or empty for both", s.Mode)
	}
	return nil
}
