package pods

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/providers"
)

// Events of a scale.
const (
	// EventScaleRequested asks the provisioning worker to move a running
	// pod to its new shape.
	EventScaleRequested events.Type = "pod.scale_requested"
	// EventScaled: the pod runs on its new machine; EventScaleFailed: the
	// new machine could not be started and the pod runs as it did.
	EventScaled      events.Type = "pod.scaled"
	EventScaleFailed events.Type = "pod.scale_failed"
)

// Scale is the shape a running pod is moving to: its configuration on the
// new offer and its rate there.
type Scale struct {
	Config Config `json:"config"`
	Rate   Rate   `json:"rate"`
	// Reservation is the budget hold of the scale, settled when the pod
	// runs on its new machine and released if it cannot.
	Reservation string `json:"reservation_id,omitempty"`
}

// RequestScale asks for pod p (running, on the revision read) to move to
// the shape of to: it is recorded on the pod with its history entry and
// the request event in one transaction; the provisioning worker then
// starts the new machine, and only once it runs is the old one retired.
func (s *Service) RequestScale(ctx context.Context, by actor.Actor, p Pod, to Scale) (Pod, error) {
	if err := to.Config.Validate(); err != nil {
		return p, err
	}
	if err := p.Scalable(); err != nil {
		return p, err
	}
	switch {
	case p.ScaleTo != nil:
		return p, fault.Conflict("pod %s is being scaled to %s already", p.ID, shape(p.ScaleTo.Config))
	case to.Config.OfferID == p.OfferID && to.Config.GPUCount == p.GPUCount:
		return p, fault.Invalid("gpu_count", "pod %s runs %s already", p.ID, shape(p.Config))
	}
	at := s.now().UTC().Truncate(time.Microsecond)
	var out Pod
	err := s.inTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.repo.PutScale(ctx, p, &to, at); err != nil {
			return err
		}
		reason := fmt.Sprintf("scale requested: %s → %s at %s an hour", shape(p.Config), shape(to.Config), to.Rate.Hour())
		if err := s.repo.NotePod(ctx, Transition{PodID: p.ID, At: at, From: Running, To: Running, Reason: reason, Actor: by}); err != nil {
			return err
		}
		return s.publish(ctx, EventScaleRequested, out, Moved{Pod: out, From: Running, Reason: reason, Actor: by}, at)
	})
	return out, err
}

// Rescale carries out a pod's requested scale: a machine of the new shape
// is started (and waited for); then in one transaction the pod takes the
// new configuration, machine, price and connection, its running interval
// is closed and a new one opened at the new price; then the old machine
// is terminated. When the new machine cannot be started the request is
// dropped and the pod runs on as it did. A pod with no request (a
// duplicate event) is left as it is.
func (s *Service) Rescale(ctx context.Context, tenantID, id string, m Machines, opt ProvisionOptions) (Pod, error) {
	p, err := s.repo.GetPod(ctx, tenantID, id)
	if err != nil || p.ScaleTo == nil {
		return p, err
	}
	to := *p.ScaleTo
	if p.State != Running {
		return s.endScale(ctx, p, nil, EventScaleFailed, "scale dropped: the pod is "+string(p.State))
	}
	o, err := s.offer(ctx, p, to.Config, m)
	var inst providers.Instance
	if err == nil {
		inst, err = s.start(ctx, p, o, m, opt)
	}
	if err == nil && inst.PublicIP == "" { // some providers give the address once it runs
		var pr providers.Provisioner
		if pr, err = m.Provisioner(ctx, p, o.Provider); err == nil {
			inst, err = pr.Instance(ctx, inst.ID)
		}
	}
	var conn Connection
	if err == nil {
		next := p
		next.Config = to.Config
		if conn, err = connect(next, inst); err != nil {
			s.retire(ctx, p, m, o.Provider, inst.ID)
		}
	}
	if err != nil {
		return s.endScale(ctx, p, nil, EventScaleFailed, fmt.Sprintf("scale to %s failed: %v", shape(to.Config), err))
	}
	next := p
	next.Config, next.InstanceID, next.PriceHour, next.Rate, next.Connection = to.Config, inst.ID, to.Rate.Hour(), to.Rate, &conn
	out, err := s.endScale(ctx, p, &next, EventScaled,
		fmt.Sprintf("scaled from %s on %s to %s on %s", shape(p.Config), p.OfferID, shape(to.Config), o.ID))
	if err != nil {
		// The pod changed while the machine started (stopped, say): it
		// keeps its old machine and the request is dropped.
		s.retire(ctx, p, m, o.Provider, inst.ID)
		if cur, gerr := s.repo.GetPod(ctx, p.TenantID, p.ID); gerr == nil && cur.ScaleTo != nil {
			_, _ = s.endScale(ctx, cur, nil, EventScaleFailed, "scale dropped: the pod changed while its new machine started")
		}
		return out, err
	}
	s.retire(ctx, p, m, providerOf(p), p.InstanceID)
	return out, nil
}

// offer finds the offer a scale moves to among those the pod fits now.
func (s *Service) offer(ctx context.Context, p Pod, cfg Config, m Machines) (providers.Offer, error) {
	next := p
	next.Config = cfg
	offers, err := m.Candidates(ctx, next)
	if err != nil {
		return providers.Offer{}, err
	}
	for _, o := range offers {
		if o.ID == cfg.OfferID {
			return o, nil
		}
	}
	return providers.Offer{}, fmt.Errorf("offer %s no longer has a machine that fits", cfg.OfferID)
}

// endScale clears a pod's scale request, applying next when it is set,
// with the history entry, the usage intervals and the event in one
// transaction.
func (s *Service) endScale(ctx context.Context, p Pod, next *Pod, typ events.Type, reason string) (Pod, error) {
	at := s.now().UTC().Truncate(time.Microsecond)
	var out Pod
	err := s.inTx(ctx, func(ctx context.Context) error {
		var err error
		if next == nil {
			out, err = s.repo.PutScale(ctx, p, nil, at)
		} else {
			out, err = s.repo.ApplyScale(ctx, *next, at)
		}
		if err != nil {
			return err
		}
		if err := s.closeHold(ctx, p.ScaleTo.Reservation, next != nil); err != nil {
			return err
		}
		if next != nil && p.State == Running {
			if err := s.repo.CloseUsage(ctx, p.ID, at); err != nil {
				return err
			}
			if err := s.repo.OpenUsage(ctx, usageOf(out, at)); err != nil {
				return err
			}
		}
		if err := s.repo.NotePod(ctx, Transition{PodID: p.ID, At: at, From: p.State, To: p.State, Reason: reason, Actor: worker}); err != nil {
			return err
		}
		if next != nil && s.notices != nil { // its address changed
			if err := s.notices.Running(ctx, out); err != nil {
				return err
			}
		}
		return s.publish(ctx, typ, out, Moved{Pod: out, From: p.State, Reason: reason, Actor: worker}, at)
	})
	return out, err
}

// retire terminates a machine no pod uses any more; a failure is noted in
// the pod's history for an operator, as the machine may still cost.
func (s *Service) retire(ctx context.Context, p Pod, m Machines, provider, instanceID string) {
	if instanceID == "" {
		return
	}
	pr, err := m.Provisioner(ctx, p, provider)
	if err == nil {
		err = pr.Terminate(context.WithoutCancel(ctx), instanceID)
	}
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		_ = s.note(ctx, p, fmt.Sprintf("machine %s at %s could not be terminated and may still cost: %v", instanceID, provider, err))
	}
}

// ScalePending lists the pods whose scale a stopped worker left.
func (s *Service) ScalePending(ctx context.Context) ([]Pod, error) {
	ps, err := s.repo.PodsIn(ctx, Running)
	var out []Pod
	for _, p := range ps {
		if p.ScaleTo != nil {
			out = append(out, p)
		}
	}
	return out, err
}

// Scalable says why p cannot be scaled now, if it cannot.
func (p Pod) Scalable() error {
	if p.State != Running {
		return fault.Conflict("pod %s is %s: only a running pod is scaled", p.ID, p.State)
	}
	return nil
}

// shape names a configuration's GPUs, e.g. "2 × H100-SXM-80GB".
func shape(c Config) string { return fmt.Sprintf("%d × %s", c.GPUCount, c.GPU) }
