package pods

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/providers"
)

// Machines is what provisioning needs of the market, in a pod's tenant and
// mode: the offers the pod fits, best first, and each provider's hand on
// its machines.
type Machines interface {
	Candidates(ctx context.Context, p Pod) ([]providers.Offer, error)
	Provisioner(ctx context.Context, p Pod, provider string) (providers.Provisioner, error)
	// Price is what the pod costs per hour on offer o.
	Price(ctx context.Context, p Pod, o providers.Offer) (Rate, error)
}

// ProvisionOptions bound one provisioning.
type ProvisionOptions struct {
	// Attempts is how many offers are tried before the pod fails.
	Attempts int
	// BootTimeout is how long a created machine may take to run.
	BootTimeout time.Duration
	// Poll is how often a booting machine is asked again.
	Poll time.Duration
}

// worker is the actor provisioning runs as.
var worker = actor.System("provisioning")

// Provision starts a deployed pod: pending → provisioning, a machine from
// its offer's provider, → ready with the machine's id. When the provider
// cannot (no capacity, quota, an error, a machine that fails to boot) the
// next-ranked offer the pod fits is tried, up to opt.Attempts offers, each
// attempt kept in the pod's history; then the pod fails with the reasons.
// It is idempotent: a pod already past provisioning is left as it is, and
// a pod found in provisioning (a worker that stopped) is taken up again.
func (s *Service) Provision(ctx context.Context, tenantID, id string, m Machines, opt ProvisionOptions) (Pod, error) {
	p, err := s.repo.GetPod(ctx, tenantID, id)
	if err != nil {
		return Pod{}, err
	}
	switch p.State {
	case Pending:
		if p, err = s.Move(ctx, worker, p, Provisioning, "provisioning", ""); err != nil {
			return p, err
		}
	case Provisioning:
	default:
		return p, nil // done already: a duplicate deploy event
	}
	offers, err := m.Candidates(ctx, p)
	if err != nil {
		return s.fail(ctx, p, "no offers: "+err.Error())
	}
	// The pod's own offer first, then the others best first.
	for i, o := range offers {
		if o.ID == p.OfferID {
			offers[0], offers[i] = offers[i], offers[0]
			break
		}
	}
	var reasons []string
	for _, o := range offers[:min(len(offers), max(1, opt.Attempts))] {
		inst, err := s.start(ctx, p, o, m, opt)
		if err == nil {
			var rate *Rate // nil keeps the quoted price
			if r, perr := m.Price(ctx, p, o); perr == nil {
				rate = &r
			}
			out, err := s.move(ctx, p, Change{To: Ready, Reason: fmt.Sprintf("started on %s (%s, %s)", o.ID, o.Provider, o.Region),
				Actor: worker, InstanceID: inst.ID, OfferID: o.ID, Rate: rate})
			if err != nil {
				// The pod changed while its machine started (terminated,
				// say): nothing uses the machine, so it must not run on.
				s.retire(ctx, p, m, o.Provider, inst.ID)
			}
			return out, err
		}
		reason := fmt.Sprintf("%s (%s): %v", o.ID, o.Provider, err)
		reasons = append(reasons, reason)
		if nerr := s.note(ctx, p, "attempt failed on "+reason); nerr != nil {
			return p, nerr
		}
		if ctx.Err() != nil {
			return p, ctx.Err()
		}
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "no offer fits the pod now")
	}
	return s.fail(ctx, p, "could not start: "+strings.Join(reasons, "; "))
}

// start creates the machine and waits until it runs.
func (s *Service) start(ctx context.Context, p Pod, o providers.Offer, m Machines, opt ProvisionOptions) (providers.Instance, error) {
	prov, err := m.Provisioner(ctx, p, o.Provider)
	if err != nil {
		return providers.Instance{}, err
	}
	inst, err := prov.Create(ctx, providers.CreateRequest{Offer: o, Name: p.Name, Image: p.Image, DiskGB: p.DiskGiB, Spot: p.Pricing == Spot,
		SSHPublicKey: p.SSHPublicKey})
	if err != nil {
		return providers.Instance{}, err
	}
	deadline := s.now().Add(opt.BootTimeout)
	for inst.State == providers.StatePending {
		if !s.now().Before(deadline) {
			_ = prov.Terminate(context.WithoutCancel(ctx), inst.ID)
			return providers.Instance{}, fmt.Errorf("machine %s did not boot within %s", inst.ID, opt.BootTimeout)
		}
		select {
		case <-ctx.Done():
			return providers.Instance{}, ctx.Err()
		case <-time.After(opt.Poll):
		}
		if inst, err = prov.Instance(ctx, inst.ID); err != nil {
			return providers.Instance{}, err
		}
	}
	if inst.State != providers.StateRunning {
		return providers.Instance{}, fmt.Errorf("machine %s is %s", inst.ID, inst.State)
	}
	return inst, nil
}

func (s *Service) fail(ctx context.Context, p Pod, reason string) (Pod, error) {
	return s.Move(ctx, worker, p, Failed, reason, "")
}

func (s *Service) note(ctx context.Context, p Pod, reason string) error {
	return s.repo.NotePod(ctx, Transition{PodID: p.ID, At: s.now().UTC(), From: p.State, To: p.State, Reason: reason, Actor: worker})
}
