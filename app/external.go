package app

import (
	"context"
	"log/slog"

	"github.com/gpubroker/pod/mcpclient"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// newExternal builds the client of the outside MCP servers each tenant
// names in agent.mcp_servers, read in the tenant's mode at every call,
// and registers call_external_tool over it. The agent lists the servers'
// tools through it too (agent.RegistryTools.External); it must be closed
// with the app.
func newExternal(reg *tools.Registry, ps *params.Service, ts *tenant.Service, version string, log *slog.Logger) *mcpclient.Servers {
	ext := mcpclient.New(mcpclient.Options{Version: version, Log: log,
		Servers: func(ctx context.Context, tenantID string) ([]mcpclient.Server, error) {
			tn, err := ts.Lookup(ctx, tenantID)
			if err != nil {
				return nil, err
			}
			return mcpclient.ServersFrom(ps.Snapshot(), tenantID, tn.Mode)
		}})
	tools.RegisterExternal(reg, tools.ExternalServices{Servers: ext})
	return ext
}
