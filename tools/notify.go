package tools

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/notify"
)

// ToolNotifyAdmin is the name of notify_admin.
const ToolNotifyAdmin = "notify_admin"

// NotifyServices are what notify_admin calls.
type NotifyServices struct {
	Notifier *notify.Notifier
}

// RegisterNotify registers the notify toolset.
func RegisterNotify(r *Registry, s NotifyServices) {
	registerToolset(r, ToolsetNotify, notifyAdmin(s))
}

// NotifyAdminInput is the input of notify_admin.
type NotifyAdminInput struct {
	TenantRef
	Control
	Subject  string          `json:"subject" jsonschema:"what it is about, in one line (at most 200 bytes)"`
	Message  string          `json:"message" jsonschema:"what the admins should know or do (at most 10000 bytes)"`
	Severity notify.Severity `json:"severity,omitempty" jsonschema:"info (the default), warning or critical"`
}

// Validate implements Validator.
func (in *NotifyAdminInput) Validate() error { return in.notice(actor.Actor{}).Check() }

func (in *NotifyAdminInput) notice(by actor.Actor) notify.Notice {
	return notify.Notice{Subject: strings.TrimSpace(in.Subject), Message: in.Message, Severity: cmp.Or(in.Severity, notify.SeverityInfo), By: by}
}

// Notified is the output of notify_admin: the notice's event, delivered
// on the channels named after the call returns.
type Notified struct {
	EventID string `json:"event_id"`
	notify.Reach
}

// reachWords says who a notice reaches, for a preview.
func reachWords(tenantID string, r notify.Reach) string {
	var ways []string
	for _, c := range r.Channels {
		switch c {
		case notify.Email:
			ways = append(ways, fmt.Sprintf("email to its %d POD Admins", r.Admins))
		case notify.Webhook:
			ways = append(ways, "its webhook")
		}
	}
	if len(ways) == 0 {
		return "no one: tenant " + tenantID + " chose no channel (agent.notify_channels)"
	}
	return "the admins of tenant " + tenantID + " by " + strings.Join(ways, " and ")
}

func notifyAdmin(s NotifyServices) Def[NotifyAdminInput, Notified] {
	return Def[NotifyAdminInput, Notified]{
		Name: ToolNotifyAdmin, Title: "Tell the admins", Group: ToolsetNotify, MinRole: actor.RolePodAdmin, OpenWorld: true,
		Description: "Tell the tenant's POD Admins something (the agent's way to report, warn or ask): a subject, a message and a " +
			"severity, sent on the channels the tenant chose in agent.notify_channels (email to every POD Admin, a signed webhook). " +
			"It is queued at once and delivered at least once.",
		Method: http.MethodPost, Path: "/notifications", Status: http.StatusAccepted,
		Preview: func(ctx context.Context, c *Call, in *NotifyAdminInput) (Preview, error) {
			r, err := s.Notifier.Reach(ctx, c.Tenant.ID)
			if err != nil {
				return Preview{}, err
			}
			n := in.notice(c.Actor)
			return Preview{Effect: fmt.Sprintf("tell %s (%s): %s", reachWords(c.Tenant.ID, r), n.Severity, n.Subject)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *NotifyAdminInput) (Notified, error) {
			r, err := s.Notifier.Reach(ctx, c.Tenant.ID)
			if err != nil {
				return Notified{}, err
			}
			e, err := s.Notifier.Tell(ctx, c.Tenant.ID, in.notice(c.Actor))
			return Notified{EventID: e.ID, Reach: r}, err
		},
	}
}
