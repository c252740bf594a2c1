package tools

import (
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// Services are the domain services the tools call.
type Services struct {
	Tenants *tenant.Service
	Params  *params.Service
	Audit   audit.Log
	// Identity manages users and API tokens; its toolsets are registered
	// only when it is set.
	Identity *auth.Service
	// Flush waits until queued audit records are written (optional).
	Flush func()
}

// RegisterCore registers the platform's core toolsets: tenants, parameters
// and audit.
func RegisterCore(r *Registry, s Services) {
	registerTenantTools(r, s)
	registerParamTools(r, s)
	registerAuditTools(r, s)
	registerApprovalTools(r)
	if s.Identity != nil {
		registerIdentityTools(r, s)
	}
}

// TenantRef names a tenant in an input; empty means the caller's own.
type TenantRef struct {
	Tenant string `json:"tenant,omitempty" jsonschema:"tenant id; defaults to the caller's tenant"`
}

// TargetTenant implements Targeter.
func (t TenantRef) TargetTenant() string { return t.Tenant }
