package params

import (
	"strings"
	"time"

	"github.com/gpubroker/pod/mode"
)

// ScopedValue is one stored value of a parameter.
type ScopedValue struct {
	Scope     Scope     `json:"scope"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// Item describes one parameter for people and tools: its declaration, the
// value a reader in the asked tenant and mode sees and where it came from,
// and every stored value. Secret values are always Redacted.
type Item struct {
	Key         string        `json:"key"`
	Type        Type          `json:"type"`
	Description string        `json:"description"`
	Affects     []mode.Mode   `json:"affects"`
	Enum        []string      `json:"enum,omitempty"`
	Rules       []string      `json:"rules,omitempty"`
	GlobalOnly  bool          `json:"global_only,omitempty"`
	Group       string        `json:"group,omitempty"`
	Default     string        `json:"default"`
	Value       string        `json:"value"`
	IsSet       bool          `json:"is_set"`
	Source      Source        `json:"source"`
	Values      []ScopedValue `json:"values"`
}

// ListQuery selects parameters and the reader whose view to resolve.
type ListQuery struct {
	TenantID string
	Mode     mode.Mode
	Prefix   string
	Group    string
}

// List describes every parameter matching q, in key order.
func (s *Service) List(q ListQuery) []Item {
	snap := s.Snapshot()
	var out []Item
	for _, spec := range s.cat.Specs() {
		if q.Prefix != "" && !strings.HasPrefix(spec.Key, q.Prefix) {
			continue
		}
		if q.Group != "" && spec.Group != q.Group {
			continue
		}
		out = append(out, s.item(snap, spec, q))
	}
	return out
}

// Get describes one parameter.
func (s *Service) Get(q ListQuery, key string) (Item, error) {
	spec, err := s.spec("key", key)
	if err != nil {
		return Item{}, err
	}
	return s.item(s.Snapshot(), spec, q), nil
}

func (s *Service) item(snap *Snapshot, spec *Spec, q ListQuery) Item {
	it := Item{
		Key: spec.Key, Type: spec.Type, Description: spec.Description, Affects: spec.Affects.Modes(),
		Enum: spec.Enum, Rules: spec.RuleDescs(), GlobalOnly: spec.GlobalOnly, Group: spec.Group,
		Default: spec.Default, Values: []ScopedValue{},
	}
	secret := spec.Type == TypeSecret
	v, src := snap.Resolve(q.TenantID, q.Mode, spec.Key)
	it.Source, it.Value, it.IsSet = src, v.raw, v.raw != ""
	if secret && it.IsSet {
		it.Value = Redacted
	}
	for _, st := range snap.stored(spec.Key) {
		if q.TenantID != "" && st.scope.TenantID != "" && st.scope.TenantID != q.TenantID {
			continue
		}
		sv := ScopedValue{Scope: st.scope, Value: st.slot.raw, UpdatedAt: st.slot.at, UpdatedBy: st.slot.by}
		if secret {
			sv.Value = Redacted
		}
		it.Values = append(it.Values, sv)
	}
	return it
}
