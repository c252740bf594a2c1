package params

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
)

// FileFormat and FileVersion identify an export file.
const (
	FileFormat  = "gpubroker-params"
	FileVersion = 1
	// MaxFileSize bounds an import file.
	MaxFileSize = 4 << 20
)

// File is the bulk export/import document. Secrets never appear in clear:
// an exported secret carries Sealed, the value sealed under this
// installation's master key, which the file does not contain. An import may
// give a secret in clear (Value) to seed a new installation.
type File struct {
	Format     string      `json:"format"`
	Version    int         `json:"version"`
	ExportedAt time.Time   `json:"exported_at"`
	Params     []FileEntry `json:"params"`
}

// FileEntry is one stored value in a File.
type FileEntry struct {
	Tenant string    `json:"tenant,omitempty"`
	Mode   mode.Mode `json:"mode,omitempty"`
	Key    string    `json:"key"`
	Value  *string   `json:"value,omitempty"`
	Sealed string    `json:"sealed,omitempty"`
}

// Export returns every stored value (all tenants when tenantID is "", else
// the global values and that tenant's).
func (s *Service) Export(ctx context.Context, tenantID string) (*File, error) {
	snap := s.Snapshot()
	f := &File{Format: FileFormat, Version: FileVersion, ExportedAt: s.now().UTC(), Params: []FileEntry{}}
	for _, spec := range s.cat.Specs() {
		for _, st := range snap.stored(spec.Key) {
			if tenantID != "" && st.scope.TenantID != "" && st.scope.TenantID != tenantID {
				continue
			}
			e := FileEntry{Tenant: st.scope.TenantID, Mode: st.scope.Mode, Key: spec.Key}
			if spec.Type == TypeSecret {
				sealed, err := s.seal(ctx, st.scope, spec.Key, st.slot.raw)
				if err != nil {
					return nil, err
				}
				e.Sealed = sealed
			} else {
				v := st.slot.raw
				e.Value = &v
			}
			f.Params = append(f.Params, e)
		}
	}
	return f, nil
}

// ImportResult reports an applied import.
type ImportResult struct {
	Applied int      `json:"applied"`
	Changes []Change `json:"changes"`
}

// Import validates the whole file and then applies every entry in one
// transaction, or nothing. Entries that LIVE tenants can read need confirm
// to name every target they touch, comma-separated in sorted order (for
// example "acme,global"); the refusal says exactly what to send.
func (s *Service) Import(ctx context.Context, act actor.Actor, data []byte, confirm string) (ImportResult, error) {
	f, err := DecodeFile(data)
	if err != nil {
		return ImportResult{}, err
	}
	writes, targets, err := s.checkFile(ctx, f)
	if err != nil {
		return ImportResult{}, err
	}
	if len(targets) > 0 {
		phrase := strings.Join(targets, ",")
		if confirm != phrase {
			return ImportResult{}, fault.NeedsConfirmation(phrase, "the import changes values LIVE mode reads in %s", phrase)
		}
	}
	if len(writes) == 0 {
		return ImportResult{Changes: []Change{}}, nil
	}
	changes, err := s.commit(ctx, act, "import", writes)
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Applied: len(changes), Changes: changes}, nil
}

// PlannedChange is one value an import would write: where, what is stored
// there now (nil when nothing is), and what it would become. A secret's
// values are Redacted.
type PlannedChange struct {
	Scope Scope   `json:"scope"`
	Key   string  `json:"key"`
	Old   *string `json:"old"`
	New   string  `json:"new"`
}

// ImportPlan is what a validated import file would change, and the phrase
// its confirmation needs (empty when no value LIVE mode reads changes).
type ImportPlan struct {
	Changes []PlannedChange `json:"changes"`
	Confirm string          `json:"confirm,omitempty"`
}

// PlanImport validates a file as Import does, applying nothing, and says
// what it would change: a preview answers with every problem or with the
// plan.
func (s *Service) PlanImport(ctx context.Context, data []byte) (ImportPlan, error) {
	f, err := DecodeFile(data)
	if err != nil {
		return ImportPlan{}, err
	}
	writes, targets, err := s.checkFile(ctx, f)
	if err != nil {
		return ImportPlan{}, err
	}
	snap := s.Snapshot()
	plan := ImportPlan{Changes: make([]PlannedChange, 0, len(writes)), Confirm: strings.Join(targets, ",")}
	for _, w := range writes {
		c := PlannedChange{Scope: w.Scope, Key: w.Key, New: w.Value}
		if sl := snap.at(w.Scope, w.Key); sl != nil {
			old := sl.raw
			c.Old = &old
		}
		if w.Secret {
			c.New = Redacted
			if c.Old != nil {
				r := Redacted
				c.Old = &r
			}
		}
		plan.Changes = append(plan.Changes, c)
	}
	return plan, nil
}

// DecodeFile parses an import file strictly: unknown fields, trailing data,
// a wrong format or version are errors that say where.
func DecodeFile(data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, fault.Invalid("file", "import file is %d bytes; the limit is %d", len(data), MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fault.Invalid("file", "%s", describeJSONError(data, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fault.Invalid("file", "unexpected data after the JSON document")
	}
	if f.Format != FileFormat {
		return nil, fault.Invalid("format", "want %q, got %q", FileFormat, f.Format)
	}
	if f.Version != FileVersion {
		return nil, fault.Invalid("version", "want %d, got %d", FileVersion, f.Version)
	}
	return &f, nil
}

func describeJSONError(data []byte, err error) string {
	var off int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if off < 0 {
		return "malformed JSON: " + err.Error()
	}
	line, col := 1, 1
	for _, b := range data[:min(int(off), len(data))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, err)
}

// checkFile validates every entry, collecting every problem, and returns the
// plain-text writes and the sorted LIVE targets needing confirmation.
func (s *Service) checkFile(ctx context.Context, f *File) ([]Write, []string, error) {
	var problems []fault.Problem
	var writes []Write
	seen := map[string]int{}
	live := map[string]bool{}
	for i, e := range f.Params {
		field := fmt.Sprintf("params[%d]", i)
		bad := func(sub, format string, args ...any) {
			problems = append(problems, fault.Problem{Field: field + sub, Message: fmt.Sprintf(format, args...)})
		}
		spec, ok := s.cat.Spec(e.Key)
		if !ok {
			bad(".key", "unknown parameter %q", e.Key)
			continue
		}
		sc := Scope{TenantID: e.Tenant, Mode: e.Mode}
		if err := s.checkScope(ctx, field, spec, sc); err != nil {
			if fe, ok := fault.As(err); ok && len(fe.Problems) > 0 {
				problems = append(problems, fe.Problems...)
				continue
			}
			return nil, nil, err
		}
		id := sc.String() + "/" + e.Key
		if j, dup := seen[id]; dup {
			bad("", "%s at %s is also set by params[%d]", e.Key, sc, j)
			continue
		}
		seen[id] = i
		var raw string
		switch {
		case spec.Type == TypeSecret && e.Sealed != "" && e.Value != nil:
			bad("", "give a secret either as value or as sealed, not both")
			continue
		case spec.Type == TypeSecret && e.Sealed != "":
			plain, err := s.open(ctx, sc, e.Key, e.Sealed)
			if err != nil {
				bad(".sealed", "cannot be opened with this installation's master key (sealed values only import where they were exported, at the same key and scope)")
				continue
			}
			raw = plain
		case e.Sealed != "":
			bad(".sealed", "%s is not a secret; give its value", e.Key)
			continue
		case e.Value == nil:
			bad(".value", "missing")
			continue
		default:
			raw = *e.Value
		}
		if _, err := spec.Validate(sc.Mode, raw); err != nil {
			bad(".value", "%s: %v", e.Key, err)
			continue
		}
		if needsConfirm(spec, sc) {
			live[sc.Target()] = true
		}
		writes = append(writes, Write{Scope: sc, Key: e.Key, Value: raw, Secret: spec.Type == TypeSecret})
	}
	if err := fault.InvalidAll("import file rejected; nothing was applied", problems); err != nil {
		return nil, nil, err
	}
	targets := make([]string, 0, len(live))
	for t := range live {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	return writes, targets, nil
}

// Encode renders a File as indented JSON.
func (f *File) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
