package tools

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/pods"
)

// ToolFleetUtilization is the name of fleet_utilization.
const ToolFleetUtilization = "fleet_utilization"

// FleetServices are what the fleet tool reads: the tenant's pods and
// their running intervals.
type FleetServices struct {
	Fleet pods.FleetReader
	// Now is the time the series ends at (the registry's clock when nil).
	Now func() time.Time
}

// RegisterFleet registers fleet_utilization in the pods toolset.
func RegisterFleet(r *Registry, s FleetServices) {
	if s.Now == nil {
		s.Now = r.deps.Now
	}
	registerToolset(r, ToolsetPods, fleetUtilization(s))
}

// FleetInput is the input of fleet_utilization.
type FleetInput struct {
	TenantRef
	Hours int `json:"hours,omitempty" jsonschema:"hours the series covers, the current one last (default 24, max 720)"`
}

// Validate implements Validator.
func (in *FleetInput) Validate() error {
	if in.Hours < 0 || in.Hours > pods.MaxFleetHours {
		return fault.Invalid("hours", "want 1 to %d, got %d", pods.MaxFleetHours, in.Hours)
	}
	return nil
}

func fleetUtilization(s FleetServices) Def[FleetInput, pods.Utilization] {
	return Def[FleetInput, pods.Utilization]{
		Name: ToolFleetUtilization, Title: "Fleet utilization", Group: ToolsetPods, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "The tenant's fleet across providers: now, its pods by state, the GPUs running and what the running pods cost " +
			"an hour, by provider; and for each of the last hours (UTC, the current one so far) the pods that ran, their GPUs and what " +
			"running cost in that hour, by provider, to the second from the pods' running intervals.",
		Method: http.MethodGet, Path: "/fleet/utilization",
		Handle: func(ctx context.Context, c *Call, in *FleetInput) (pods.Utilization, error) {
			return pods.ReadFleet(ctx, s.Fleet, c.Tenant.ID, cmp.Or(in.Hours, 24), s.Now())
		},
	}
}
