package tools

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/tenant"
)

// TenantList is the output of list_tenants.
type TenantList struct {
	Tenants []tenant.Tenant `json:"tenants"`
}

// CreateTenantInput is the input of create_tenant.
type CreateTenantInput struct {
	Control
	ID   string `json:"id" jsonschema:"tenant id: 2-40 lower-case letters, digits or dashes"`
	Name string `json:"name" jsonschema:"display name"`
}

// TenantInput names one tenant.
type TenantInput struct {
	TenantRef
}

// RenameTenantInput is the input of rename_tenant.
type RenameTenantInput struct {
	Control
	TenantRef
	Name string `json:"name" jsonschema:"new display name"`
}

// DeleteTenantInput is the input of delete_tenant.
type DeleteTenantInput struct {
	Control
	TenantRef
}

// SwitchModeInput is the input of switch_mode.
type SwitchModeInput struct {
	Control
	TenantRef
	Mode mode.Mode `json:"mode" jsonschema:"SANDBOX or LIVE"`
}

// Validate implements Validator.
func (in *SwitchModeInput) Validate() error {
	if !in.Mode.Valid() {
		return fault.Invalid("mode", "want SANDBOX or LIVE, got %q", in.Mode)
	}
	return nil
}

// Tool names of the tenants toolset, for the packages that call them by name.
const (
	ToolListTenants  = "list_tenants"
	ToolGetTenant    = "get_tenant"
	ToolCreateTenant = "create_tenant"
	ToolRenameTenant = "rename_tenant"
	ToolDeleteTenant = "delete_tenant"
	ToolSwitchMode   = "switch_mode"
)

// registerTenantTools registers the tenants toolset.
func registerTenantTools(r *Registry, s Services) {
	registerToolset(r, ToolsetTenants,
		listTenants(s), getTenant(s), createTenant(s), renameTenant(s), deleteTenant(s), switchMode(s))
}

func listTenants(s Services) Def[struct{}, TenantList] {
	return Def[struct{}, TenantList]{
		Name: ToolListTenants, Title: "List tenants", Group: ToolsetTenants, MinRole: actor.RolePodAdmin, ReadOnly: true, Platform: true,
		Description: "List every tenant (POD) of the platform with its mode.",
		Method:      http.MethodGet, Path: "/tenants",
		Handle: func(ctx context.Context, c *Call, _ *struct{}) (TenantList, error) {
			ts, err := s.Tenants.List(ctx)
			if ts == nil {
				ts = []tenant.Tenant{}
			}
			return TenantList{Tenants: ts}, err
		},
	}
}

func getTenant(s Services) Def[TenantInput, tenant.Tenant] {
	return Def[TenantInput, tenant.Tenant]{
		Name: ToolGetTenant, Title: "Get a tenant", Group: ToolsetTenants, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "Show one tenant (POD): its name and whether it runs in SANDBOX or LIVE mode.",
		Method:      http.MethodGet, Path: "/tenants/{tenant}",
		Handle: func(ctx context.Context, c *Call, in *TenantInput) (tenant.Tenant, error) {
			return c.Tenant, nil
		},
	}
}

func createTenant(s Services) Def[CreateTenantInput, tenant.Tenant] {
	return Def[CreateTenantInput, tenant.Tenant]{
		Name: ToolCreateTenant, Title: "Create a tenant", Group: ToolsetTenants, MinRole: actor.RolePodAdmin, Platform: true,
		Description: "Create a tenant (POD). It starts in SANDBOX mode: simulated providers, Stripe test keys, no real money.",
		Method:      http.MethodPost, Path: "/tenants", Status: http.StatusCreated,
		Preview: func(ctx context.Context, c *Call, in *CreateTenantInput) (Preview, error) {
			if err := tenant.ValidateID(in.ID); err != nil {
				return Preview{}, err
			}
			return Preview{Effect: fmt.Sprintf("create tenant %s (%q) in SANDBOX mode", in.ID, in.Name)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *CreateTenantInput) (tenant.Tenant, error) {
			return s.Tenants.Create(ctx, c.Actor, in.ID, in.Name)
		},
	}
}

func renameTenant(s Services) Def[RenameTenantInput, tenant.Tenant] {
	return Def[RenameTenantInput, tenant.Tenant]{
		Name: ToolRenameTenant, Title: "Rename a tenant", Group: ToolsetTenants, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Change a tenant's display name.",
		Method:      http.MethodPatch, Path: "/tenants/{tenant}",
		Preview: func(ctx context.Context, c *Call, in *RenameTenantInput) (Preview, error) {
			return Preview{Effect: fmt.Sprintf("rename tenant %s from %q to %q", c.Tenant.ID, c.Tenant.Name, in.Name)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *RenameTenantInput) (tenant.Tenant, error) {
			return s.Tenants.Rename(ctx, c.Actor, c.Tenant.ID, in.Name)
		},
	}
}

func deleteTenant(s Services) Def[DeleteTenantInput, tenant.Tenant] {
	return Def[DeleteTenantInput, tenant.Tenant]{
		Name: ToolDeleteTenant, Title: "Delete a tenant", Group: ToolsetTenants, MinRole: actor.RolePodAdmin, Platform: true, Destructive: true,
		Description: "Delete a SANDBOX tenant with its users and parameters. Needs the tenant id as confirm.",
		Method:      http.MethodDelete, Path: "/tenants/{tenant}",
		Preview: func(ctx context.Context, c *Call, in *DeleteTenantInput) (Preview, error) {
			return Preview{Effect: fmt.Sprintf("delete tenant %s, its users and its parameters", c.Tenant.ID)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *DeleteTenantInput) (tenant.Tenant, error) {
			return c.Tenant, s.Tenants.Delete(ctx, c.Actor, c.Tenant.ID, c.Confirm)
		},
	}
}

func switchMode(s Services) Def[SwitchModeInput, tenant.Tenant] {
	return Def[SwitchModeInput, tenant.Tenant]{
		Name: ToolSwitchMode, Title: "Switch a tenant's mode", Group: ToolsetTenants, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Switch a tenant between SANDBOX and LIVE. Needs the tenant id as confirm; going LIVE also needs live Stripe keys and one provider's live credentials, and the refusal lists what is missing.",
		Method:      http.MethodPut, Path: "/tenants/{tenant}/mode",
		Preview: func(ctx context.Context, c *Call, in *SwitchModeInput) (Preview, error) {
			p := Preview{Effect: fmt.Sprintf("switch tenant %s from %s to %s", c.Tenant.ID, c.Tenant.Mode, in.Mode)}
			if c.Tenant.Mode == in.Mode {
				p.Effect = fmt.Sprintf("nothing: tenant %s is already %s", c.Tenant.ID, in.Mode)
				return p, nil
			}
			// A switch to LIVE that would be refused is previewed as
			// that refusal, with what the tenant still lacks.
			if in.Mode == mode.Live {
				if err := s.Tenants.CheckLive(ctx, c.Tenant.ID); err != nil {
					return Preview{}, err
				}
			}
			return p, nil
		},
		Handle: func(ctx context.Context, c *Call, in *SwitchModeInput) (tenant.Tenant, error) {
			return s.Tenants.SwitchMode(ctx, c.Actor, c.Tenant.ID, in.Mode, c.Confirm)
		},
	}
}
