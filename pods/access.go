package pods

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/providers"
)

// Connection is how a pod's owner reaches the running machine.
type Connection struct {
	SSHHost string `json:"ssh_host"`
	SSHPort int    `json:"ssh_port"`
	SSHUser string `json:"ssh_user"`
	// SSHKeyFingerprint is the SHA-256 fingerprint of the configured key
	// the machine accepts; empty when none was configured.
	SSHKeyFingerprint string `json:"ssh_key_fingerprint,omitempty"`
	SSHCommand        string `json:"ssh_command"`
	// JupyterURL is where JupyterLab answers, for images that serve it.
	JupyterURL string `json:"jupyter_url,omitempty"`
}

// sshUser is the login of the declared images, all built on Ubuntu.
const sshUser = "ubuntu"

// KeyFingerprint checks an OpenSSH public key and answers its SHA-256
// fingerprint.
func KeyFingerprint(authorizedKey string) (string, error) {
	k, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return "", fmt.Errorf("want one OpenSSH public key such as \"ssh-ed25519 AAAA… you@host\": %v", err)
	}
	if len(rest) > 0 {
		return "", fmt.Errorf("want one key, got more")
	}
	return ssh.FingerprintSHA256(k), nil
}

// connect is how p is reached on its machine inst.
func connect(p Pod, inst providers.Instance) (Connection, error) {
	if inst.PublicIP == "" {
		return Connection{}, fault.Unavailable("the provider has not given pod %s's machine an address yet; try again shortly", p.ID)
	}
	c := Connection{SSHHost: inst.PublicIP, SSHPort: cmp.Or(inst.SSHPort, 22), SSHUser: sshUser}
	if p.SSHPublicKey != "" {
		c.SSHKeyFingerprint, _ = KeyFingerprint(p.SSHPublicKey)
	}
	c.SSHCommand = fmt.Sprintf("ssh -p %d %s@%s", c.SSHPort, c.SSHUser, c.SSHHost)
	if im, _ := LookupImage(p.Image); im.Jupyter {
		c.JupyterURL = "http://" + net.JoinHostPort(c.SSHHost, strconv.Itoa(JupyterPort)) + "/lab"
	}
	return c, nil
}

// JupyterPort is the port the Jupyter images serve JupyterLab on.
const JupyterPort = 8888

// Notices tell a pod's owner what happened to their pod (the app sends
// them as email). Each is called inside the transaction of the change it
// reports, so nothing is told of a change that did not commit.
type Notices interface {
	// Ready carries the activation token of a pod that became ready.
	Ready(ctx context.Context, p Pod, token string, expiresAt time.Time) error
	// Running confirms an activation, or a scale to a new machine, with
	// the pod's connection details.
	Running(ctx context.Context, p Pod) error
	// IdleStopped says the pod was stopped for being idle that long.
	IdleStopped(ctx context.Context, p Pod, idle time.Duration) error
}

// Notify sets who is told of pods' changes and how long an activation
// link lasts in a tenant. It must be set before the service is used.
func (s *Service) Notify(n Notices, activationTTL func(tenantID string) time.Duration) {
	s.notices, s.activationTTL = n, activationTTL
}

// Activate starts using a ready pod with its activation token: the token
// is checked, the machine started at its provider if it is not running,
// and in one transaction the token is spent and the pod becomes running
// with its connection details. A wrong token is unauthenticated, a used
// or expired one gone; a provider failure leaves the token unspent.
func (s *Service) Activate(ctx context.Context, by actor.Actor, p Pod, token string, m Machines) (Pod, error) {
	a, err := s.checkActivation(ctx, p, token)
	if err != nil {
		return p, err
	}
	if err := Move(p.ID, p.State, Running); err != nil {
		return p, err
	}
	pr, err := m.Provisioner(ctx, p, providerOf(p))
	if err != nil {
		return p, err
	}
	inst, err := pr.Instance(ctx, p.InstanceID)
	if err == nil && inst.State == providers.StateStopped {
		if err = pr.Start(ctx, p.InstanceID); err == nil {
			inst, err = pr.Instance(ctx, p.InstanceID)
		}
	}
	if err != nil {
		return p, providerFault(p, "activate", err)
	}
	conn, err := connect(p, inst)
	if err != nil {
		return p, err
	}
	var out Pod
	err = s.inTx(ctx, func(ctx context.Context) error {
		if err := s.spendActivation(ctx, a); err != nil {
			return err
		}
		out, err = s.moveTx(ctx, p, Change{To: Running, Reason: "activated", Actor: by, Connection: &conn})
		return err
	})
	return out, err
}

// Heartbeat records a sign of activity from a running pod, which keeps
// the idle auto-stop away.
func (s *Service) Heartbeat(ctx context.Context, p Pod) (Pod, error) {
	if p.State != Running {
		return p, fault.Conflict("pod %s is %s: only a running pod sends heartbeats", p.ID, p.State)
	}
	at := s.now().UTC().Truncate(time.Microsecond)
	if err := s.repo.TouchPod(ctx, p.TenantID, p.ID, at); err != nil {
		return p, err
	}
	p.ActiveAt = &at
	return p, nil
}

// IdleSince is when a running pod last showed activity: its last
// heartbeat, or when it started running.
func (p Pod) IdleSince() time.Time {
	if p.ActiveAt != nil {
		return *p.ActiveAt
	}
	return p.UpdatedAt
}

// StopIdle stops every running pod whose last activity is older than the
// idle limit of its tenant (zero: never), records why and tells its owner.
// It answers the pods it stopped; a pod that could not be stopped is left
// running and its error joined to the answer.
func (s *Service) StopIdle(ctx context.Context, idleAfter func(tenantID string) time.Duration, m Machines) ([]Pod, error) {
	running, err := s.repo.PodsIn(ctx, Running)
	if err != nil {
		return nil, err
	}
	var stopped []Pod
	var errs []error
	now := s.now()
	for _, p := range running {
		limit := idleAfter(p.TenantID)
		if limit <= 0 || now.Sub(p.IdleSince()) < limit {
			continue
		}
		idle := now.Sub(s.lastActive(ctx, p, m))
		if idle < limit {
			continue
		}
		idle = idle.Truncate(time.Minute)
		out, err := s.operateThen(ctx, idleStopper, p, m, Stopped, "stop", "idle for "+idle.String(),
			func(pr providers.Provisioner, id string) error { return pr.Stop(ctx, id) },
			func(ctx context.Context, out Pod) error {
				if s.notices == nil {
					return nil
				}
				return s.notices.IdleStopped(ctx, out, idle)
			})
		if err != nil {
			errs = append(errs, fmt.Errorf("stop idle pod %s: %w", p.ID, err))
			continue
		}
		stopped = append(stopped, out)
	}
	return stopped, errors.Join(errs...)
}

// lastActive is when p was last seen in use: its own signal, or its
// provider's metrics where the adapter reports them and they are later.
func (s *Service) lastActive(ctx context.Context, p Pod, m Machines) time.Time {
	since := p.IdleSince()
	pr, err := m.Provisioner(ctx, p, providerOf(p))
	if err != nil {
		return since
	}
	if ar, ok := pr.(providers.ActivityReporter); ok {
		if t, err := ar.LastActive(ctx, p.InstanceID); err == nil && t.After(since) {
			return t
		}
	}
	return since
}

// idleStopper is the actor the idle auto-stop runs as.
var idleStopper = actor.System("idle-stop")
