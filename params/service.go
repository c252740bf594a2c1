package params

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
)

// Repo is what the service needs from the database: values (unless a
// ValueStore keeps them), history, the revision counter and its watcher.
type Repo interface {
	LoadParams(ctx context.Context) ([]Stored, int64, error)
	ParamRevision(ctx context.Context) (int64, error)
	// CommitParams applies writes and appends changes in one transaction;
	// changes[i] describes writes[i] and gets its OldValue filled in.
	CommitParams(ctx context.Context, writes []Write, changes []Change) error
	ParamHistory(ctx context.Context, q HistoryQuery) ([]Change, error)
	WatchParams(ctx context.Context, onChange func()) error
	TenantExists(ctx context.Context, id string) (bool, error)
}

// ValueStore keeps values outside the database (SSM Parameter Store and
// Secrets Manager). Secrets reach it in plain text: it encrypts them itself.
type ValueStore interface {
	LoadValues(ctx context.Context) ([]Stored, error)
	PutValues(ctx context.Context, writes []Write) error
}

// Sealer encrypts secrets kept in the database.
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// Service is the parameter system. Its Snapshot is what every reader uses.
type Service struct {
	cat    *Catalog
	repo   Repo
	values ValueStore
	sealer Sealer
	log    *slog.Logger
	now    func() time.Time

	snap     atomic.Pointer[Snapshot]
	reloadMu sync.Mutex
	// writeMu keeps one instance's writers from interleaving their
	// read-validate-commit steps; other instances are ordered by the
	// database transaction.
	writeMu sync.Mutex
}

// Option configures a Service.
type Option func(*Service)

// WithValueStore keeps values in vs instead of the database.
func WithValueStore(vs ValueStore) Option { return func(s *Service) { s.values = vs } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService builds the service; call Reload before reading.
func NewService(cat *Catalog, repo Repo, sealer Sealer, opts ...Option) *Service {
	s := &Service{cat: cat, repo: repo, sealer: sealer, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { return time.Now().UTC() }}
	for _, o := range opts {
		o(s)
	}
	s.snap.Store(newSnapshot(cat, -1))
	return s
}

// Catalog returns the declared parameters.
func (s *Service) Catalog() *Catalog { return s.cat }

// Snapshot returns the current immutable view. It is cheap; call it per use
// rather than keeping it, so changes are seen.
func (s *Service) Snapshot() *Snapshot { return s.snap.Load() }

func aad(sc Scope, key string) []byte { return []byte("param/" + sc.String() + "/" + key) }

// Reload reads every value and swaps in a new snapshot. A secret that cannot
// be opened fails the reload (and the old snapshot stays): it means the key
// file is not the one the values were sealed with.
func (s *Service) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	stored, rev, err := s.repo.LoadParams(ctx)
	if err != nil {
		return err
	}
	if s.values != nil {
		if stored, err = s.values.LoadValues(ctx); err != nil {
			return fmt.Errorf("load parameter values: %w", err)
		}
	}
	snap := newSnapshot(s.cat, rev)
	for _, st := range stored {
		spec, ok := s.cat.Spec(st.Key)
		if !ok {
			s.log.Warn("stored parameter is not declared; ignored", "key", st.Key, "scope", st.Scope.String())
			continue
		}
		raw := st.Value
		if st.Sealed {
			if raw, err = s.open(ctx, st.Scope, st.Key, st.Value); err != nil {
				return err
			}
		}
		v, err := spec.Validate(st.Scope.Mode, raw)
		if err != nil {
			// A rule tightened since the value was stored: readers fall
			// back to the next scope rather than see a bad value.
			s.log.Warn("stored parameter no longer valid; ignored", "key", st.Key, "scope", st.Scope.String(), "err", err)
			continue
		}
		snap.put(st.Scope, st.Key, &slot{v: v, at: st.UpdatedAt, by: st.UpdatedBy, raw: raw})
	}
	if cur := s.snap.Load(); cur != nil && cur.Rev > rev {
		return nil
	}
	s.snap.Store(snap)
	return nil
}

func (s *Service) open(ctx context.Context, sc Scope, key, b64 string) (string, error) {
	sealed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("secret %s at %s: stored value is not base64: %w", key, sc, err)
	}
	plain, err := s.sealer.Open(ctx, sealed, aad(sc, key))
	if err != nil {
		return "", fmt.Errorf("secret %s at %s cannot be opened (is this the key file it was sealed with?): %w", key, sc, err)
	}
	return string(plain), nil
}

func (s *Service) seal(ctx context.Context, sc Scope, key, plain string) (string, error) {
	sealed, err := s.sealer.Seal(ctx, []byte(plain), aad(sc, key))
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", key, err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// Watch reloads whenever another writer (this or another instance) changes
// a parameter, until ctx ends.
func (s *Service) Watch(ctx context.Context) error {
	return s.repo.WatchParams(ctx, func() {
		if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("reload parameters", "err", err)
		}
	})
}

// checkScope validates a scope for spec and says whether a write there needs
// confirmation.
func (s *Service) checkScope(ctx context.Context, field string, spec *Spec, sc Scope) error {
	if err := sc.check(); err != nil {
		return fault.Invalid(field+".mode", "%v", err)
	}
	if sc.TenantID != "" {
		if spec.GlobalOnly {
			return fault.Invalid(field+".tenant", "%s is platform-wide and cannot be set per tenant", spec.Key)
		}
		ok, err := s.repo.TenantExists(ctx, sc.TenantID)
		if err != nil {
			return err
		}
		if !ok {
			return fault.Invalid(field+".tenant", "tenant %q not found", sc.TenantID)
		}
	}
	if sc.Mode != "" && !spec.Affects.Reads(sc.Mode) {
		return fault.Invalid(field+".mode", "%s affects only %s mode; it cannot be set for %s", spec.Key, spec.Affects.Modes()[0], sc.Mode)
	}
	return nil
}

// needsConfirm reports whether a write at sc can change what a LIVE tenant
// reads.
func needsConfirm(spec *Spec, sc Scope) bool {
	return spec.Affects.Reads(mode.Live) && sc.TouchesLive()
}

func (s *Service) spec(field, key string) (*Spec, error) {
	spec, ok := s.cat.Spec(key)
	if !ok {
		return nil, fault.Invalid(field, "unknown parameter %q%s", key, s.suggest(key))
	}
	return spec, nil
}

// suggest names declared keys sharing the unknown key's first word.
func (s *Service) suggest(key string) string {
	head, _, _ := strings.Cut(key, ".")
	var near []string
	for _, k := range s.cat.keys {
		if strings.HasPrefix(k, head+".") {
			near = append(near, k)
		}
	}
	if len(near) == 0 || len(near) > 8 {
		return ""
	}
	return "; parameters under " + head + ": " + strings.Join(near, ", ")
}

// SetRequest asks to store one value.
type SetRequest struct {
	Scope   Scope  `json:"scope"`
	Key     string `json:"key"`
	Value   string `json:"value"`
	Confirm string `json:"confirm,omitempty"`
}

// Set validates and stores one value. A value LIVE tenants can read needs
// Confirm equal to the scope's target (the tenant id, or "global").
func (s *Service) Set(ctx context.Context, act actor.Actor, req SetRequest) (Change, error) {
	spec, err := s.spec("key", req.Key)
	if err != nil {
		return Change{}, err
	}
	if err := s.checkScope(ctx, "scope", spec, req.Scope); err != nil {
		return Change{}, err
	}
	if _, err := spec.Validate(req.Scope.Mode, req.Value); err != nil {
		return Change{}, fault.Invalid(req.Key, "%v", err)
	}
	if needsConfirm(spec, req.Scope) && req.Confirm != req.Scope.Target() {
		return Change{}, fault.NeedsConfirmation(req.Scope.Target(), "%s affects LIVE mode at %s", req.Key, req.Scope)
	}
	w := Write{Scope: req.Scope, Key: req.Key, Value: req.Value, Secret: spec.Type == TypeSecret}
	changes, err := s.commit(ctx, act, "set", []Write{w})
	if err != nil {
		return Change{}, err
	}
	return changes[0], nil
}

// Delete removes the value stored at scope, so readers fall back to the next
// scope. It needs the same confirmation as Set.
func (s *Service) Delete(ctx context.Context, act actor.Actor, sc Scope, key, confirm string) (Change, error) {
	spec, err := s.spec("key", key)
	if err != nil {
		return Change{}, err
	}
	if err := sc.check(); err != nil {
		return Change{}, fault.Invalid("scope.mode", "%v", err)
	}
	if s.Snapshot().at(sc, key) == nil {
		return Change{}, fault.NotFound("parameter value", key+" at "+sc.String())
	}
	if needsConfirm(spec, sc) && confirm != sc.Target() {
		return Change{}, fault.NeedsConfirmation(sc.Target(), "deleting %s affects LIVE mode at %s", key, sc)
	}
	changes, err := s.commit(ctx, act, "delete", []Write{{Scope: sc, Key: key, Delete: true, Secret: spec.Type == TypeSecret}})
	if err != nil {
		return Change{}, err
	}
	return changes[0], nil
}

// commit applies validated plain-text writes: seals secrets (database) or
// hands them to the value store (AWS), records history, and reloads so the
// caller reads its own write.
func (s *Service) commit(ctx context.Context, act actor.Actor, action string, writes []Write) ([]Change, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	at := s.now().UTC().Truncate(time.Microsecond)
	snap := s.Snapshot()
	changes := make([]Change, len(writes))
	for i, w := range writes {
		c := Change{At: at, Actor: act.String(), Scope: w.Scope, Key: w.Key, Action: action}
		if !w.Delete {
			nv := w.Value
			if w.Secret {
				nv = Redacted
			}
			c.NewValue = &nv
		}
		// The database fills OldValue inside its transaction; a value store
		// outside it has only our snapshot to tell.
		if old := snap.at(w.Scope, w.Key); old != nil {
			ov := old.raw
			if w.Secret {
				ov = Redacted
			}
			c.OldValue = &ov
		}
		changes[i] = c
	}
	if s.values != nil {
		if err := s.putValues(ctx, snap, writes); err != nil {
			return nil, err
		}
		if err := s.repo.CommitParams(ctx, nil, changes); err != nil {
			return nil, err
		}
	} else {
		sealed := make([]Write, len(writes))
		for i, w := range writes {
			sealed[i] = w
			if w.Secret && !w.Delete {
				v, err := s.seal(ctx, w.Scope, w.Key, w.Value)
				if err != nil {
					return nil, err
				}
				sealed[i].Value, sealed[i].Sealed = v, true
			}
		}
		if err := s.repo.CommitParams(ctx, sealed, changes); err != nil {
			return nil, err
		}
	}
	if err := s.Reload(ctx); err != nil {
		s.log.Error("reload after parameter change", "err", err)
	}
	return changes, nil
}

// putValues writes to the value store one by one; on a failure it restores
// the values written so far from the snapshot, so an import is all or
// nothing there too (as far as the remote store lets us).
func (s *Service) putValues(ctx context.Context, snap *Snapshot, writes []Write) error {
	for i, w := range writes {
		if err := s.values.PutValues(ctx, []Write{w}); err != nil {
			undo := make([]Write, 0, i)
			for _, done := range writes[:i] {
				u := Write{Scope: done.Scope, Key: done.Key, Secret: done.Secret, Delete: true}
				if old := snap.at(done.Scope, done.Key); old != nil {
					u.Value, u.Delete = old.raw, false
				}
				undo = append(undo, u)
			}
			if uerr := s.values.PutValues(ctx, undo); uerr != nil {
				s.log.Error("restore parameter values after a failed write", "err", uerr)
			}
			return fault.Unavailable("parameter store refused %s at %s: %v", w.Key, w.Scope, err)
		}
	}
	return nil
}

// History returns changes newest first.
func (s *Service) History(ctx context.Context, q HistoryQuery) ([]Change, error) {
	return s.repo.ParamHistory(ctx, q)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
