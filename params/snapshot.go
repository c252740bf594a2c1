package params

import (
	"strings"
	"time"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
)

// slot is one stored value in a snapshot with who set it and when.
type slot struct {
	v   Value
	at  time.Time
	by  string
	raw string // plain text, also for secrets (readers need them)
}

// slots holds the values of one key in one tenant (or globally), indexed by
// modeIndex: both modes, SANDBOX, LIVE.
type slots [3]*slot

func modeIndex(m mode.Mode) int {
	switch m {
	case mode.Sandbox:
		return 1
	case mode.Live:
		return 2
	}
	return 0
}

type entry struct {
	spec    *Spec
	def     Value
	global  slots
	tenants map[string]*slots
}

// Snapshot is an immutable view of every parameter at one revision. Readers
// hold it without locks; a change builds a new one and swaps it in.
type Snapshot struct {
	Rev     int64
	entries map[string]*entry
}

// Source says where a resolved value came from.
type Source struct {
	Scope   Scope `json:"scope"`
	Default bool  `json:"default,omitempty"`
}

func newSnapshot(cat *Catalog, rev int64) *Snapshot {
	s := &Snapshot{Rev: rev, entries: make(map[string]*entry, len(cat.keys))}
	for _, spec := range cat.Specs() {
		def := Value{}
		if spec.Default != "" || spec.Type == TypeString || spec.Type == TypeSecret {
			def, _ = spec.parse(spec.Default) // checked by NewCatalog
		}
		def.set = true
		s.entries[spec.Key] = &entry{spec: spec, def: def, tenants: map[string]*slots{}}
	}
	return s
}

func (s *Snapshot) put(sc Scope, key string, sl *slot) {
	e := s.entries[key]
	if e == nil {
		return
	}
	if sc.TenantID == "" {
		e.global[modeIndex(sc.Mode)] = sl
		return
	}
	t := e.tenants[sc.TenantID]
	if t == nil {
		t = &slots{}
		e.tenants[sc.TenantID] = t
	}
	t[modeIndex(sc.Mode)] = sl
}

// resolve finds the value for a reader in tenantID and mode m, most specific
// scope first.
func (s *Snapshot) resolve(tenantID string, m mode.Mode, key string) (*entry, *slot, Scope) {
	e := s.entries[key]
	if e == nil {
		return nil, nil, Scope{}
	}
	mi := modeIndex(m)
	if tenantID != "" {
		if t := e.tenants[tenantID]; t != nil {
			if mi != 0 && t[mi] != nil {
				return e, t[mi], Scope{TenantID: tenantID, Mode: m}
			}
			if t[0] != nil {
				return e, t[0], Scope{TenantID: tenantID}
			}
		}
	}
	if mi != 0 && e.global[mi] != nil {
		return e, e.global[mi], Scope{Mode: m}
	}
	if e.global[0] != nil {
		return e, e.global[0], Scope{}
	}
	return e, nil, Scope{}
}

// Get returns the value a reader in tenantID and mode m sees for key:
// tenant+mode, tenant, global+mode, global, then the declared default. An
// unknown key returns the zero Value. Get takes no lock and never allocates.
func (s *Snapshot) Get(tenantID string, m mode.Mode, key string) Value {
	e, sl, _ := s.resolve(tenantID, m, key)
	switch {
	case sl != nil:
		return sl.v
	case e != nil:
		return e.def
	}
	return Value{}
}

// String is Get(…).String().
func (s *Snapshot) String(tenantID string, m mode.Mode, key string) string {
	return s.Get(tenantID, m, key).raw
}

// BaseURL is platform.base_url without a trailing slash: the root every
// link the platform sends out starts with.
func (s *Snapshot) BaseURL() string {
	return strings.TrimRight(s.String("", "", "platform.base_url"), "/")
}

// Int is Get(…).Int().
func (s *Snapshot) Int(tenantID string, m mode.Mode, key string) int64 {
	return s.Get(tenantID, m, key).i
}

// Float is Get(…).Float().
func (s *Snapshot) Float(tenantID string, m mode.Mode, key string) float64 {
	return s.Get(tenantID, m, key).f
}

// Money is Get(…).Money().
func (s *Snapshot) Money(tenantID string, m mode.Mode, key string) money.Amount {
	return s.Get(tenantID, m, key).m
}

// Bool is Get(…).Bool().
func (s *Snapshot) Bool(tenantID string, m mode.Mode, key string) bool {
	return s.Get(tenantID, m, key).b
}

// Duration is Get(…).Duration().
func (s *Snapshot) Duration(tenantID string, m mode.Mode, key string) time.Duration {
	return s.Get(tenantID, m, key).d
}

// Resolve is Get with the scope the value came from.
func (s *Snapshot) Resolve(tenantID string, m mode.Mode, key string) (Value, Source) {
	e, sl, sc := s.resolve(tenantID, m, key)
	switch {
	case sl != nil:
		return sl.v, Source{Scope: sc}
	case e != nil:
		return e.def, Source{Default: true}
	}
	return Value{}, Source{}
}

// at returns the value stored exactly at sc, if any.
func (s *Snapshot) at(sc Scope, key string) *slot {
	e := s.entries[key]
	if e == nil {
		return nil
	}
	if sc.TenantID == "" {
		return e.global[modeIndex(sc.Mode)]
	}
	if t := e.tenants[sc.TenantID]; t != nil {
		return t[modeIndex(sc.Mode)]
	}
	return nil
}

// stored lists every value stored for key, global first, then by tenant.
func (s *Snapshot) stored(key string) []storedSlot {
	e := s.entries[key]
	if e == nil {
		return nil
	}
	var out []storedSlot
	add := func(tenantID string, sl *slots) {
		for i, m := range []mode.Mode{"", mode.Sandbox, mode.Live} {
			if sl[i] != nil {
				out = append(out, storedSlot{Scope{TenantID: tenantID, Mode: m}, sl[i]})
			}
		}
	}
	add("", &e.global)
	for _, id := range sortedKeys(e.tenants) {
		add(id, e.tenants[id])
	}
	return out
}

type storedSlot struct {
	scope Scope
	slot  *slot
}
