package app

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
)

// podMail tells pods' owners by email what happened to their pods: the
// activation link of a ready pod, the connection details once it runs, an
// idle stop. Each message is queued in the transaction of the change.
type podMail struct {
	mail   *mail.Service
	people *auth.Service
	params *params.Service
	log    *slog.Logger
}

func newPodMail(m *mail.Service, people *auth.Service, ps *params.Service, log *slog.Logger) podMail {
	return podMail{mail: m, people: people, log: log, params: ps}
}

// send mails the person answering for p; a pod no person answers for
// (one a system actor made) is logged and its change goes on.
func (n podMail) send(ctx context.Context, p pods.Pod, kind mail.Kind, data func(name string) any) error {
	return n.sendTo(ctx, p.TenantID, p.OwnerID, kind, data)
}

// sendTo mails the person user is (an API token's maker); a user no
// person is is logged and the change goes on.
func (n podMail) sendTo(ctx context.Context, tenantID, userID string, kind mail.Kind, data func(name string) any) error {
	u, err := n.people.Person(ctx, tenantID, userID)
	if fault.KindOf(err) == fault.KindNotFound {
		n.log.Warn("no one to email", "tenant", tenantID, "user", userID, "kind", kind)
		return nil
	}
	if err != nil {
		return err
	}
	return n.mail.Send(ctx, tenantID, u.Email, kind, data(u.Name))
}

func (n podMail) podLink(p pods.Pod, suffix string) string {
	return n.params.Snapshot().BaseURL() + "/pods/" + url.PathEscape(p.ID) + suffix
}

// Ready implements pods.Notices: the activation link.
func (n podMail) Ready(ctx context.Context, p pods.Pod, token string, expiresAt time.Time) error {
	return n.send(ctx, p, mail.KindActivation, func(name string) any {
		return mail.Activation{Name: name, PodName: p.Name, PodID: p.ID, GPU: p.GPU, GPUCount: p.GPUCount,
			Link: n.podLink(p, "/activate?token="+url.QueryEscape(token)), ExpiresAt: expiresAt}
	})
}

// Running implements pods.Notices: the connection details.
func (n podMail) Running(ctx context.Context, p pods.Pod) error {
	c := p.Connection
	if c == nil {
		c = &pods.Connection{}
	}
	return n.send(ctx, p, mail.KindActivated, func(name string) any {
		return mail.Activated{Name: name, PodName: p.Name, PodID: p.ID, SSHHost: c.SSHHost, SSHPort: c.SSHPort, SSHUser: c.SSHUser,
			SSHKeyFingerprint: c.SSHKeyFingerprint, JupyterURL: c.JupyterURL}
	})
}

// IdleStopped implements pods.Notices.
func (n podMail) IdleStopped(ctx context.Context, p pods.Pod, idle time.Duration) error {
	return n.send(ctx, p, mail.KindIdleStopped, func(name string) any {
		return mail.IdleStopped{Name: name, PodName: p.Name, PodID: p.ID, IdleFor: idle, Link: n.podLink(p, "")}
	})
}
