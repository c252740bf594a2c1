package pods

import (
	"context"
	"errors"
	"fmt"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/providers"
)

// Stop halts a running pod's machine at its provider and records the pod
// stopped.
func (s *Service) Stop(ctx context.Context, by actor.Actor, p Pod, m Machines) (Pod, error) {
	return s.operate(ctx, by, p, m, Stopped, "stop", func(pr providers.Provisioner, id string) error { return pr.Stop(ctx, id) })
}

// Start starts a stopped pod's machine again and records it running.
func (s *Service) Start(ctx context.Context, by actor.Actor, p Pod, m Machines) (Pod, error) {
	if p.State == Ready {
		return p, fault.Conflict("pod %s is ready: it starts when its owner activates it with the activation link", p.ID)
	}
	// Checked before the provider starts the machine (not under the
	// owner's lock: a start racing a deploy may pass both).
	if p.State == Stopped {
		if err := s.withinLimit(ctx, p); err != nil {
			return p, err
		}
	}
	return s.operate(ctx, by, p, m, Running, "start", func(pr providers.Provisioner, id string) error { return pr.Start(ctx, id) })
}

// Terminate removes a pod for good: a draft or a failed pod at once, a
// live one by terminating its machine at the provider first. A terminated
// pod is answered as it is, so terminating twice is harmless.
func (s *Service) Terminate(ctx context.Context, by actor.Actor, p Pod, m Machines) (Pod, error) {
	switch p.State {
	case Terminated:
		return p, nil
	case Draft, Failed:
		return s.Move(ctx, by, p, Terminated, "terminated", "")
	}
	if p.State != Terminating {
		var err error
		if p, err = s.Move(ctx, by, p, Terminating, "terminating", ""); err != nil {
			return p, err
		}
	}
	if p.InstanceID != "" {
		pr, err := m.Provisioner(ctx, p, providerOf(p))
		if err != nil {
			return p, err
		}
		if err := pr.Terminate(ctx, p.InstanceID); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return p, providerFault(p, "terminate", err)
		}
	}
	return s.Move(ctx, by, p, Terminated, "terminated", "")
}

// operate checks the move, asks the provider, then records the move.
func (s *Service) operate(ctx context.Context, by actor.Actor, p Pod, m Machines, to State, op string,
	call func(providers.Provisioner, string) error) (Pod, error) {
	return s.operateThen(ctx, by, p, m, to, op, op, call, nil)
}

// operateThen is operate with the move's reason, and then, when set, run
// in the move's transaction.
func (s *Service) operateThen(ctx context.Context, by actor.Actor, p Pod, m Machines, to State, op, reason string,
	call func(providers.Provisioner, string) error, then func(ctx context.Context, out Pod) error) (Pod, error) {
	if err := Move(p.ID, p.State, to); err != nil {
		return p, err
	}
	pr, err := m.Provisioner(ctx, p, providerOf(p))
	if err != nil {
		return p, err
	}
	if err := call(pr, p.InstanceID); err != nil {
		return p, providerFault(p, op, err)
	}
	var out Pod
	err = s.inTx(ctx, func(ctx context.Context) error {
		if out, err = s.moveTx(ctx, p, Change{To: to, Reason: reason, Actor: by}); err != nil || then == nil {
			return err
		}
		return then(ctx, out)
	})
	return out, err
}

// providerOf is the provider a pod's machine runs at: its offer's, whose
// id starts with the provider's (after a failover, the offer it moved to).
func providerOf(p Pod) string { return providers.ProviderOfOffer(p.OfferID) }

// providerFault says what a provider's refusal means to the caller.
func providerFault(p Pod, op string, err error) error {
	switch {
	case errors.Is(err, providers.ErrUnsupported):
		return fault.Conflict("the provider of pod %s cannot %s machines (%v); terminate it instead", p.ID, op, err)
	case errors.Is(err, providers.ErrNotFound):
		return fault.Conflict("the provider no longer has pod %s's machine %s", p.ID, p.InstanceID)
	}
	return fault.Unavailable("%s pod %s: %s", op, p.ID, fmt.Sprint(err))
}
