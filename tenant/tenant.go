// Package tenant manages tenants (the seed's GPUBROKER PODs): each has its own
// mode, parameters, users and budget. It owns the rules for creating,
// renaming, deleting and switching a tenant between SANDBOX and LIVE; storage
// is behind the Repo interface (package store implements it). It must not
// know any face.
package tenant

import (
	"context"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
)

// DefaultID is the tenant created on first start.
const DefaultID = "default"

// Tenant is one POD of the platform.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Mode      mode.Mode `json:"mode"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Repo keeps tenants. Each mutation writes its audit record in the same
// transaction as the change.
type Repo interface {
	CreateTenant(ctx context.Context, t Tenant, rec audit.Record) error
	Tenant(ctx context.Context, id string) (Tenant, error)
	Tenants(ctx context.Context) ([]Tenant, error)
	RenameTenant(ctx context.Context, id, name string, rec audit.Record) (Tenant, error)
	DeleteTenant(ctx context.Context, id string, rec audit.Record) error
	// SwitchTenantMode changes the mode only if it is still from; otherwise
	// it returns a conflict, so concurrent switches cannot both win.
	SwitchTenantMode(ctx context.Context, id string, from, to mode.Mode, rec audit.Record) (Tenant, error)
}

// Readiness tells what a tenant lacks before it may run LIVE.
type Readiness interface {
	MissingForLive(ctx context.Context, tenantID string) []string
}

// Service applies the tenant rules and keeps every tenant's state in
// memory for the call path (Lookup), refreshed on every local change and by
// Reload when another instance changes one.
type Service struct {
	repo  Repo
	ready Readiness
	now   func() time.Time
	cache atomic.Pointer[map[string]Tenant]
}

// NewService returns a Service over repo; ready checks LIVE prerequisites.
func NewService(repo Repo, ready Readiness) *Service {
	return &Service{repo: repo, ready: ready, now: func() time.Time { return time.Now().UTC() }}
}

// Reload refreshes the in-memory state from the database.
func (s *Service) Reload(ctx context.Context) error {
	list, err := s.repo.Tenants(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]Tenant, len(list))
	for _, t := range list {
		m[t.ID] = t
	}
	s.cache.Store(&m)
	return nil
}

// Lookup returns a tenant's current state from memory, reading the database
// only for a tenant this instance has not seen yet.
func (s *Service) Lookup(ctx context.Context, id string) (Tenant, error) {
	if m := s.cache.Load(); m != nil {
		if t, ok := (*m)[id]; ok {
			return t, nil
		}
	}
	t, err := s.repo.Tenant(ctx, id)
	if err != nil {
		return Tenant{}, err
	}
	_ = s.Reload(ctx)
	return t, nil
}

// changed refreshes the cache after a local change; a failure only delays
// the refresh until the next change notification.
func (s *Service) changed(ctx context.Context) { _ = s.Reload(ctx) }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)

// ValidateID checks a tenant id: 2–40 characters, lower-case letters, digits
// and dashes, starting with a letter or digit.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fault.Invalid("id", "tenant id %q: want 2–40 lower-case letters, digits or dashes, starting with a letter or digit", id)
	}
	return nil
}

func validateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", fault.Invalid("name", "tenant name: want 1–100 characters")
	}
	return name, nil
}

func (s *Service) record(act actor.Actor, t Tenant, action string, input any) audit.Record {
	return audit.Record{
		At: s.now(), Actor: act, TenantID: t.ID, Mode: t.Mode,
		Action: action, Input: audit.JSON(input), Verdict: "allow",
	}
}

// Create makes a tenant in SANDBOX mode: every tenant starts with no real
// money at stake.
func (s *Service) Create(ctx context.Context, act actor.Actor, id, name string) (Tenant, error) {
	if err := ValidateID(id); err != nil {
		return Tenant{}, err
	}
	name, err := validateName(name)
	if err != nil {
		return Tenant{}, err
	}
	now := s.now().Truncate(time.Microsecond)
	t := Tenant{ID: id, Name: name, Mode: mode.Sandbox, CreatedAt: now, UpdatedAt: now}
	rec := s.record(act, t, "tenant.create", map[string]string{"id": id, "name": name})
	if err := s.repo.CreateTenant(ctx, t, rec); err != nil {
		return Tenant{}, err
	}
	s.changed(ctx)
	return t, nil
}

// Get returns one tenant.
func (s *Service) Get(ctx context.Context, id string) (Tenant, error) { return s.repo.Tenant(ctx, id) }

// List returns every tenant ordered by id.
func (s *Service) List(ctx context.Context) ([]Tenant, error) { return s.repo.Tenants(ctx) }

// Rename changes a tenant's display name.
func (s *Service) Rename(ctx context.Context, act actor.Actor, id, name string) (Tenant, error) {
	name, err := validateName(name)
	if err != nil {
		return Tenant{}, err
	}
	t, err := s.repo.Tenant(ctx, id)
	if err != nil {
		return Tenant{}, err
	}
	rec := s.record(act, t, "tenant.rename", map[string]string{"from": t.Name, "to": name})
	t, err = s.repo.RenameTenant(ctx, id, name, rec)
	if err == nil {
		s.changed(ctx)
	}
	return t, err
}

// Delete removes a tenant with its users and parameters. It needs the
// tenant's id as confirmation, and a LIVE tenant must go back to SANDBOX
// first so that live resources are never orphaned by one call.
func (s *Service) Delete(ctx context.Context, act actor.Actor, id, confirm string) error {
	t, err := s.repo.Tenant(ctx, id)
	if err != nil {
		return err
	}
	if t.Mode == mode.Live {
		return fault.Conflict("tenant %s is LIVE: switch it to SANDBOX before deleting it", id)
	}
	if id == DefaultID {
		return fault.Conflict("tenant %s is the default tenant and cannot be deleted", id)
	}
	if confirm != id {
		return fault.NeedsConfirmation(id, "deleting tenant %s removes its users and parameters", id)
	}
	if err := s.repo.DeleteTenant(ctx, id, s.record(act, t, "tenant.delete", map[string]string{"id": id})); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// ActionSwitchMode is the audit action of a tenant's switch between modes;
// its input is a ModeSwitch.
const ActionSwitchMode = "tenant.switch_mode"

// ModeSwitch is what the audit records of a switch: the mode left and the
// mode entered.
type ModeSwitch struct {
	From mode.Mode `json:"from"`
	To   mode.Mode `json:"to"`
}

// CheckLive answers nil when tenant id may go LIVE, else the conflict
// listing in Missing what it still lacks: the refusal SwitchMode gives,
// for a preview to show before anyone tries.
func (s *Service) CheckLive(ctx context.Context, id string) error {
	if missing := s.ready.MissingForLive(ctx, id); len(missing) > 0 {
		return &fault.Error{Kind: fault.KindConflict, Message: "tenant " + id + " cannot go LIVE yet", Missing: missing}
	}
	return nil
}

// SwitchMode moves a tenant to mode to. Any switch needs the tenant's id as
// confirmation (R2.6); going LIVE also needs live Stripe keys and at least one
// live provider credential, and the refusal lists what is missing. Switching
// to the mode a tenant is already in changes nothing and records nothing.
func (s *Service) SwitchMode(ctx context.Context, act actor.Actor, id string, to mode.Mode, confirm string) (Tenant, error) {
	if !to.Valid() {
		return Tenant{}, fault.Invalid("mode", "unknown mode %q: want SANDBOX or LIVE", to)
	}
	t, err := s.repo.Tenant(ctx, id)
	if err != nil {
		return Tenant{}, err
	}
	if t.Mode == to {
		return t, nil
	}
	if to == mode.Live {
		if err := s.CheckLive(ctx, id); err != nil {
			return Tenant{}, err
		}
	}
	if confirm != id {
		return Tenant{}, fault.NeedsConfirmation(id, "switching tenant %s from %s to %s", id, t.Mode, to)
	}
	rec := s.record(act, t, ActionSwitchMode, ModeSwitch{From: t.Mode, To: to})
	t, err = s.repo.SwitchTenantMode(ctx, id, t.Mode, to, rec)
	if err == nil {
		s.changed(ctx)
	}
	return t, err
}
