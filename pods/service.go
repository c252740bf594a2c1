package pods

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

// Event types a pod's changes publish.
const (
	// EventConfigured: a draft was saved or changed.
	EventConfigured events.Type = "pod.configured"
	// EventMoved: a pod changed state; EventDeployRequested is the move
	// to pending, which the provisioning worker consumes.
	EventMoved           events.Type = "pod.state_changed"
	EventDeployRequested events.Type = "pod.deploy_requested"
)

// Repo keeps pods, their history and the outbox; the store implements it.
// InTx runs fn in one transaction that every other call made with its
// context joins.
type Repo interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CreatePod(ctx context.Context, p Pod, t Transition) error
	GetPod(ctx context.Context, tenantID, id string) (Pod, error)
	ListPods(ctx context.Context, f Filter) ([]Pod, error)
	UpdatePodConfig(ctx context.Context, p Pod) (Pod, error)
	MovePod(ctx context.Context, c Change) (Pod, error)
	PodTransitions(ctx context.Context, tenantID, id string) ([]Transition, error)
	// NotePod records a history entry that is not a move.
	NotePod(ctx context.Context, t Transition) error
	// PodsIn lists every tenant's pods in the given states.
	PodsIn(ctx context.Context, states ...State) ([]Pod, error)
	// PutActivation stores a pod's activation, replacing an earlier one;
	// GetActivation reads it (not found when none); SpendActivation marks
	// it used if it is unused, unexpired at at and still has that hash.
	PutActivation(ctx context.Context, a Activation) error
	GetActivation(ctx context.Context, podID string) (Activation, error)
	SpendActivation(ctx context.Context, podID, tokenHash string, at time.Time) (bool, error)
	// PutScale sets (or with nil clears) the scale of pod p, on its
	// revision and state; ApplyScale gives a running pod the
	// configuration, machine, price and connection of next and clears its
	// scale, on next's revision.
	PutScale(ctx context.Context, p Pod, to *Scale, at time.Time) (Pod, error)
	ApplyScale(ctx context.Context, next Pod, at time.Time) (Pod, error)
	// TouchPod records a running pod's last activity.
	TouchPod(ctx context.Context, tenantID, id string, at time.Time) error
	// OpenUsage starts a pod's running interval; CloseUsage ends its open
	// one, if any; ListUsage reads intervals.
	OpenUsage(ctx context.Context, u Usage) error
	CloseUsage(ctx context.Context, podID string, at time.Time) error
	ListUsage(ctx context.Context, f UsageFilter) ([]Usage, error)
	// LiveOwnerPods counts the pods owner holds a machine for (pending,
	// provisioning, ready, running), taking the owner's lock in a
	// transaction.
	LiveOwnerPods(ctx context.Context, tenantID, ownerID string) (int, error)
	Enqueue(ctx context.Context, es ...events.Event) error
}

// Service runs the pod operations: each change, its history and the event
// it causes commit together.
type Service struct {
	repo          Repo
	now           func() time.Time
	committed     func()
	notices       Notices
	activationTTL func(tenantID string) time.Duration
	funds         Funds
	limit         func(ctx context.Context, tenantID, ownerID string) (Limit, error)
}

// Limit bounds the pods an owner holds machines for at once (Max 0: no
// bound); Plan names who set it, for the refusal.
type Limit struct {
	Max  int
	Plan string
}

// LimitPods sets what bounds each owner's live pods (their plan). It must
// be set before the service is used.
func (s *Service) LimitPods(fn func(ctx context.Context, tenantID, ownerID string) (Limit, error)) {
	s.limit = fn
}

// withinLimit refuses a pod of owner that would hold one machine more than
// their limit allows. In a transaction the count is under the owner's
// lock.
func (s *Service) withinLimit(ctx context.Context, p Pod) error {
	if s.limit == nil {
		return nil
	}
	l, err := s.limit(ctx, p.TenantID, p.OwnerID)
	if err != nil || l.Max <= 0 {
		return err
	}
	n, err := s.repo.LiveOwnerPods(ctx, p.TenantID, p.OwnerID)
	if err != nil {
		return err
	}
	if n >= l.Max {
		pods := "pods"
		if l.Max == 1 {
			pods = "pod"
		}
		return fault.Forbidden("the %s plan runs at most %d %s at once and %d run now: stop or terminate one, or move to a plan "+
			"that runs more (list_plans compares them)", l.Plan, l.Max, pods, n)
	}
	return nil
}

// Funds closes the budget holds of deploys and scales; the store's budget
// ledger implements it.
type Funds interface {
	// Settle turns a hold into spending (a negative actual: the amount
	// held); Release gives it back.
	Settle(ctx context.Context, id string, actual money.Amount) error
	Release(ctx context.Context, id string) error
}

// HoldFunds sets what closes the budget holds deploys and scales leave.
// It must be set before the service is used.
func (s *Service) HoldFunds(f Funds) { s.funds = f }

// closeHold settles (spent) or releases the hold id, in the caller's
// transaction; a hold closed already stays as it is.
func (s *Service) closeHold(ctx context.Context, id string, spent bool) error {
	if id == "" || s.funds == nil {
		return nil
	}
	var err error
	if spent {
		err = s.funds.Settle(ctx, id, -1)
	} else {
		err = s.funds.Release(ctx, id)
	}
	if fault.KindOf(err) == fault.KindConflict {
		return nil
	}
	return err
}

// OnCommit sets what to call after a change and its event committed (the
// relay's Nudge, so the event leaves at once rather than at the next poll).
// It must be set before the service is used.
func (s *Service) OnCommit(fn func()) { s.committed = fn }

// inTx runs fn in one transaction and, when it committed, says so.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := s.repo.InTx(ctx, fn); err != nil {
		return err
	}
	if s.committed != nil {
		s.committed()
	}
	return nil
}

// NewService returns a Service over repo, reading time from now.
func NewService(repo Repo, now func() time.Time) *Service {
	return &Service{repo: repo, now: now}
}

// Moved is the payload of a pod's state events.
type Moved struct {
	Pod    Pod         `json:"pod"`
	From   State       `json:"from,omitempty"`
	Reason string      `json:"reason,omitempty"`
	Actor  actor.Actor `json:"actor"`
}

// CreateDraft saves a new draft for owner in tenantID, at the rate its
// configuration's offer was quoted at.
func (s *Service) CreateDraft(ctx context.Context, by actor.Actor, tenantID, ownerID string, cfg Config, rate Rate) (Pod, error) {
	if err := cfg.Validate(); err != nil {
		return Pod{}, err
	}
	at := s.now().UTC().Truncate(time.Microsecond)
	p := Pod{ID: "pod_" + uuid.NewString(), TenantID: tenantID, OwnerID: ownerID, Config: cfg, State: Draft,
		Revision: 1, PriceHour: rate.Hour(), Rate: rate, CreatedAt: at, UpdatedAt: at}
	err := s.inTx(ctx, func(ctx context.Context) error {
		if err := s.repo.CreatePod(ctx, p, Transition{At: at, Reason: "configured", Actor: by}); err != nil {
			return err
		}
		return s.publish(ctx, EventConfigured, p, Moved{Pod: p, Actor: by}, at)
	})
	if err != nil {
		return Pod{}, fmt.Errorf("save draft %s: %w", cfg.Name, err)
	}
	return p, nil
}

// UpdateDraft replaces a draft's configuration on the revision read.
func (s *Service) UpdateDraft(ctx context.Context, by actor.Actor, cur Pod, cfg Config, rate Rate) (Pod, error) {
	if err := cfg.Validate(); err != nil {
		return Pod{}, err
	}
	if cur.State != Draft {
		return Pod{}, fault.Conflict("pod %s is %s: only a draft's configuration can change", cur.ID, cur.State)
	}
	next := cur
	next.Config, next.PriceHour, next.Rate, next.UpdatedAt = cfg, rate.Hour(), rate, s.now().UTC().Truncate(time.Microsecond)
	var out Pod
	err := s.inTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.repo.UpdatePodConfig(ctx, next); err != nil {
			return err
		}
		return s.publish(ctx, EventConfigured, out, Moved{Pod: out, Actor: by}, next.UpdatedAt)
	})
	return out, err
}

// Move changes a pod's state on the revision read, records why and by
// whom, and publishes the change (a move to pending as the deploy request).
func (s *Service) Move(ctx context.Context, by actor.Actor, cur Pod, to State, reason, instanceID string) (Pod, error) {
	return s.move(ctx, cur, Change{To: to, Reason: reason, Actor: by, InstanceID: instanceID})
}

// Deploy moves a draft to pending, the deploy request, keeping the budget
// hold reservation until the pod is ready or fails.
func (s *Service) Deploy(ctx context.Context, by actor.Actor, cur Pod, reservation string) (Pod, error) {
	var out Pod
	err := s.inTx(ctx, func(ctx context.Context) error {
		if err := s.withinLimit(ctx, cur); err != nil {
			return err
		}
		var err error
		out, err = s.moveTx(ctx, cur, Change{To: Pending, Reason: "deploy", Actor: by, Reservation: reservation})
		return err
	})
	return out, err
}

// move applies c (its target, reason, actor and what it records) to cur on
// the revision read, with its history and event in one transaction.
func (s *Service) move(ctx context.Context, cur Pod, c Change) (Pod, error) {
	var out Pod
	err := s.inTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.moveTx(ctx, cur, c)
		return err
	})
	return out, err
}

// moveTx is move inside the caller's transaction. What a move causes
// commits with it: the pod's running interval opens or closes, a pod
// that became ready gets its activation link and its owner is told.
func (s *Service) moveTx(ctx context.Context, cur Pod, c Change) (Pod, error) {
	c.PodID, c.TenantID, c.Revision, c.From = cur.ID, cur.TenantID, cur.Revision, cur.State
	c.At = s.now().UTC().Truncate(time.Microsecond)
	out, err := s.repo.MovePod(ctx, c)
	if err != nil {
		return out, err
	}
	if c.From == Pending || c.From == Provisioning {
		if c.To == Ready {
			err = s.closeHold(ctx, out.Reservation, true)
		} else if c.To != Provisioning {
			err = s.closeHold(ctx, out.Reservation, false)
		}
		if err != nil {
			return out, err
		}
	}
	if c.From == Running {
		if err := s.repo.CloseUsage(ctx, out.ID, c.At); err != nil {
			return out, err
		}
	}
	if c.To == Running {
		if err := s.repo.OpenUsage(ctx, usageOf(out, c.At)); err != nil {
			return out, err
		}
	}
	typ := EventMoved
	if c.To == Pending {
		typ = EventDeployRequested
	}
	if err := s.publish(ctx, typ, out, Moved{Pod: out, From: c.From, Reason: c.Reason, Actor: c.Actor}, c.At); err != nil {
		return out, err
	}
	if s.notices == nil {
		return out, nil
	}
	switch {
	case c.To == Ready:
		ttl := 24 * time.Hour
		if s.activationTTL != nil {
			ttl = s.activationTTL(out.TenantID)
		}
		token, err := s.IssueActivation(ctx, out, ttl)
		if err != nil {
			return out, err
		}
		return out, s.notices.Ready(ctx, out, token, c.At.Add(ttl))
	case c.From == Ready && c.To == Running:
		return out, s.notices.Running(ctx, out)
	}
	return out, nil
}

// Get reads one pod of a tenant.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Pod, error) {
	return s.repo.GetPod(ctx, tenantID, id)
}

// List reads a tenant's pods.
func (s *Service) List(ctx context.Context, f Filter) ([]Pod, error) { return s.repo.ListPods(ctx, f) }

// Unfinished lists the pods a provisioning worker left pending or
// provisioning (every tenant's): what a new worker resumes.
func (s *Service) Unfinished(ctx context.Context) ([]Pod, error) {
	return s.repo.PodsIn(ctx, Pending, Provisioning)
}

// History reads a pod's transitions, oldest first.
func (s *Service) History(ctx context.Context, tenantID, id string) ([]Transition, error) {
	return s.repo.PodTransitions(ctx, tenantID, id)
}

func (s *Service) publish(ctx context.Context, typ events.Type, p Pod, payload Moved, at time.Time) error {
	e, err := events.New(typ, p.ID, p.TenantID, payload, at)
	if err != nil {
		return err
	}
	return s.repo.Enqueue(ctx, e)
}

// Usage reads running intervals of a tenant's pods.
func (s *Service) Usage(ctx context.Context, f UsageFilter) ([]Usage, error) {
	return s.repo.ListUsage(ctx, f)
}
