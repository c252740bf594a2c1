package tools

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
)

// ToolSystemHealth is the name of system_health.
const ToolSystemHealth = "system_health"

// SystemReader reads what the platform's plumbing has behind it; the
// store implements it. A tenant "" reads every tenant.
type SystemReader interface {
	OutboxBacklog(ctx context.Context, tenantID string) (events.Backlog, error)
	SlackDelivery(ctx context.Context, tenantID string, since time.Time) (decision.SlackDelivery, error)
	ProcessorEventStats(ctx context.Context, tenantID string, since time.Time) (billing.EventStats, error)
}

// SystemServices are what system_health reads.
type SystemServices struct {
	System SystemReader
	// Params says whether the tenant posts to Slack.
	Params *params.Service
	// Now is the time the window ends at (the registry's clock when nil).
	Now func() time.Time
}

// RegisterSystem registers the system toolset.
func RegisterSystem(r *Registry, s SystemServices) {
	if s.Now == nil {
		s.Now = r.deps.Now
	}
	registerToolset(r, ToolsetSystem, systemHealth(s))
}

// MaxHealthHours is the longest window system_health looks back over.
const MaxHealthHours = 720

// SystemHealthInput is the input of system_health.
type SystemHealthInput struct {
	TenantRef
	Hours int `json:"hours,omitempty" jsonschema:"hours the counts of deliveries cover, up to now (default 24, max 720)"`
}

// Validate implements Validator.
func (in *SystemHealthInput) Validate() error {
	if in.Hours < 0 || in.Hours > MaxHealthHours {
		return fault.Invalid("hours", "want 1 to %d, got %d", MaxHealthHours, in.Hours)
	}
	return nil
}

// SlackHealth is how the tenant's decisions reach Slack.
type SlackHealth struct {
	// Enabled says whether the tenant posts its decisions to Slack
	// (slack.enabled in its mode); decisions not posted are expected
	// when it does not.
	Enabled bool `json:"enabled"`
	decision.SlackDelivery
}

// SystemHealth is the output of system_health.
type SystemHealth struct {
	// Tenant is the tenant read; empty when every tenant was.
	Tenant string         `json:"tenant,omitempty"`
	Since  time.Time      `json:"since" jsonschema:"the start of the window the delivery counts cover"`
	Stream events.Backlog `json:"stream" jsonschema:"events written to the outbox and not yet published to the stream"`
	Slack  SlackHealth    `json:"slack" jsonschema:"the agent's decisions posted to Slack"`
	// Payments are the payment processor's webhook deliveries.
	Payments billing.EventStats `json:"payments" jsonschema:"the payment processor's webhook events received and processed"`
}

func systemHealth(s SystemServices) Def[SystemHealthInput, SystemHealth] {
	return Def[SystemHealthInput, SystemHealth]{
		Name: ToolSystemHealth, Title: "System health", Group: ToolsetSystem, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "What the platform's plumbing has behind it, for when something is stuck: the event stream's backlog (outbox " +
			"events not yet published, the oldest, the latest published); the agent's decisions posted to Slack and those that " +
			"change something but were not posted; the payment processor's webhook events received, processed and failed in the " +
			"window, those waiting however old and why the oldest waits. A platform operator naming no tenant reads every tenant.",
		Method: http.MethodGet, Path: "/system/health",
		Handle: func(ctx context.Context, c *Call, in *SystemHealthInput) (SystemHealth, error) {
			tenantID := c.Tenant.ID
			if in.Tenant == "" && policies.IsPlatformOperator(c.Actor) {
				tenantID = ""
			}
			out := SystemHealth{Tenant: tenantID, Since: s.Now().UTC().Add(-time.Duration(cmp.Or(in.Hours, 24)) * time.Hour)}
			var err error
			if out.Stream, err = s.System.OutboxBacklog(ctx, tenantID); err != nil {
				return out, fmt.Errorf("system health: %w", err)
			}
			if out.Slack.SlackDelivery, err = s.System.SlackDelivery(ctx, tenantID, out.Since); err != nil {
				return out, fmt.Errorf("system health: %w", err)
			}
			if out.Payments, err = s.System.ProcessorEventStats(ctx, tenantID, out.Since); err != nil {
				return out, fmt.Errorf("system health: %w", err)
			}
			if s.Params != nil {
				out.Slack.Enabled = s.Params.Snapshot().Bool(c.Tenant.ID, c.Tenant.Mode, "slack.enabled")
			}
			return out, nil
		},
	}
}
