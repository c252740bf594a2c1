package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
)

// ParamScope is where a parameter value applies: a tenant (or global when
// empty) and a mode (or both when empty).
type ParamScope struct {
	Tenant string    `json:"tenant,omitempty" jsonschema:"tenant id; empty for the global scope"`
	Mode   mode.Mode `json:"mode,omitempty" jsonschema:"SANDBOX or LIVE; empty for both modes"`
}

// TargetTenant implements Targeter.
func (s ParamScope) TargetTenant() string { return s.Tenant }

func (s ParamScope) scope() params.Scope { return params.Scope{TenantID: s.Tenant, Mode: s.Mode} }

// globalScope marks a call on the global scope as platform-wide: only
// platform operators may change what every tenant reads.
func globalScope[In any](scope func(*In) ParamScope) func(context.Context, *Call, *In, *policies.Target) error {
	return func(_ context.Context, c *Call, in *In, t *policies.Target) error {
		if scope(in).Tenant == "" {
			*t = policies.Target{Platform: true}
			c.Tenant.ID, c.Tenant.Mode = "", ""
		}
		return nil
	}
}

// ListParamsInput is the input of list_parameters.
type ListParamsInput struct {
	TenantRef
	Mode   mode.Mode `json:"mode,omitempty" jsonschema:"resolve values as a reader in this mode sees them; defaults to the tenant's mode"`
	Prefix string    `json:"prefix,omitempty" jsonschema:"only keys starting with this prefix, e.g. stripe."`
	Group  string    `json:"group,omitempty" jsonschema:"only keys of this group, e.g. provider:lambda"`
}

// ParamList is the output of list_parameters.
type ParamList struct {
	Parameters []params.Item `json:"parameters"`
}

// GetParamInput is the input of get_parameter.
type GetParamInput struct {
	TenantRef
	Key  string    `json:"key" jsonschema:"parameter key, e.g. billing.markup_percent"`
	Mode mode.Mode `json:"mode,omitempty" jsonschema:"resolve as a reader in this mode; defaults to the tenant's mode"`
}

// SetParamInput is the input of set_parameter.
type SetParamInput struct {
	Control
	ParamScope
	Key   string `json:"key" jsonschema:"parameter key"`
	Value string `json:"value" jsonschema:"new value as text (numbers, durations like 90s, true/false, JSON)"`
}

// DeleteParamInput is the input of delete_parameter.
type DeleteParamInput struct {
	Control
	ParamScope
	Key string `json:"key" jsonschema:"parameter key"`
}

// HistoryInput is the input of parameter_history.
type HistoryInput struct {
	Key      string    `json:"key" jsonschema:"parameter key"`
	Tenant   string    `json:"tenant,omitempty" jsonschema:"only changes at this tenant's scopes"`
	Mode     mode.Mode `json:"mode,omitempty" jsonschema:"with tenant: only this mode's scope"`
	BeforeID int64     `json:"before,omitempty" jsonschema:"page: only entries older than this id"`
	Limit    int       `json:"limit,omitempty" jsonschema:"at most this many entries (default 50, max 500)"`
}

// TargetTenant implements Targeter.
func (in HistoryInput) TargetTenant() string { return in.Tenant }

// HistoryList is the output of parameter_history.
type HistoryList struct {
	Changes []params.Change `json:"changes"`
}

// ExportInput is the input of export_parameters.
type ExportInput struct {
	Tenant string `json:"tenant,omitempty" jsonschema:"export the global values and this tenant's only"`
}

// ImportInput is the input of import_parameters.
type ImportInput struct {
	Control
	File json.RawMessage `json:"file" jsonschema:"an export file: {format, version, params: [...]}"`
}

// Tool names of the parameters toolset, for the packages that call them by name.
const (
	ToolListParameters   = "list_parameters"
	ToolGetParameter     = "get_parameter"
	ToolSetParameter     = "set_parameter"
	ToolDeleteParameter  = "delete_parameter"
	ToolParameterHistory = "parameter_history"
	ToolExportParameters = "export_parameters"
	ToolImportParameters = "import_parameters"
)

// registerParamTools registers the parameters toolset.
func registerParamTools(r *Registry, s Services) {
	registerToolset(r, ToolsetParameters,
		listParameters(s), getParameter(s), setParameter(s), deleteParameter(s), parameterHistory(s), exportParameters(s), importParameters(s))
}

func listParameters(s Services) Def[ListParamsInput, ParamList] {
	return Def[ListParamsInput, ParamList]{
		Name: ToolListParameters, Title: "List parameters", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "List every configurable parameter with its type, rules, the modes it affects, the value a tenant reads and where that value comes from, and every stored value. Secrets show as [redacted].",
		Method:      http.MethodGet, Path: "/parameters",
		Handle: func(ctx context.Context, c *Call, in *ListParamsInput) (ParamList, error) {
			items := s.Params.List(params.ListQuery{TenantID: c.Tenant.ID, Mode: readerMode(c, in.Mode), Prefix: in.Prefix, Group: in.Group})
			if items == nil {
				items = []params.Item{}
			}
			return ParamList{Parameters: items}, nil
		},
	}
}

func getParameter(s Services) Def[GetParamInput, params.Item] {
	return Def[GetParamInput, params.Item]{
		Name: ToolGetParameter, Title: "Get a parameter", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "Show one parameter: declaration, resolved value for the tenant and mode, its source scope and every stored value.",
		Method:      http.MethodGet, Path: "/parameters/{key}",
		Handle: func(ctx context.Context, c *Call, in *GetParamInput) (params.Item, error) {
			return s.Params.Get(params.ListQuery{TenantID: c.Tenant.ID, Mode: readerMode(c, in.Mode)}, in.Key)
		},
	}
}

func setParameter(s Services) Def[SetParamInput, params.Change] {
	return Def[SetParamInput, params.Change]{
		Name: ToolSetParameter, Title: "Set a parameter", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, Idempotent: true,
		Description: "Set a parameter's value at a scope (global or one tenant; one mode or both). The value is validated against the parameter's type and rules. A value LIVE mode can read needs confirm set to the tenant id (or \"global\"). The change is visible to every instance within a second.",
		Method:      http.MethodPut, Path: "/parameters/{key}",
		Target: globalScope(func(in *SetParamInput) ParamScope { return in.ParamScope }),
		Redact: func(in *SetParamInput) any {
			if spec, ok := s.Params.Catalog().Spec(in.Key); ok && spec.Type == params.TypeSecret {
				cp := *in
				cp.Value = params.Redacted
				return cp
			}
			return in
		},
		Preview: func(ctx context.Context, c *Call, in *SetParamInput) (Preview, error) {
			item, err := s.Params.Get(params.ListQuery{TenantID: in.Tenant, Mode: in.Mode}, in.Key)
			if err != nil {
				return Preview{}, err
			}
			shown := in.Value
			if item.Type == params.TypeSecret {
				shown = params.Redacted
			}
			return Preview{Effect: fmt.Sprintf("set %s at %s to %q (now %q from %s)", in.Key, in.scope(), shown, item.Value, sourceName(item.Source))}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *SetParamInput) (params.Change, error) {
			return s.Params.Set(ctx, c.Actor, params.SetRequest{Scope: in.scope(), Key: in.Key, Value: in.Value, Confirm: c.Confirm})
		},
		Compensate: func(in *SetParamInput, out *params.Change) (Undo, bool) {
			return restoreParameter(in.Control, in.ParamScope, in.Key, out)
		},
	}
}

// restoreParameter is the call that puts back what a change at scope
// replaced: the old value, or no value where there was none. A secret's old
// value is not kept, so its change cannot be undone.
func restoreParameter(ctl Control, scope ParamScope, key string, out *params.Change) (Undo, bool) {
	ctl.DryRun = false
	switch {
	case out.OldValue == nil:
		return Undo{Tool: ToolDeleteParameter, Args: DeleteParamInput{Control: ctl, ParamScope: scope, Key: key}}, true
	case *out.OldValue == params.Redacted:
		return Undo{}, false
	}
	return Undo{Tool: ToolSetParameter, Args: SetParamInput{Control: ctl, ParamScope: scope, Key: key, Value: *out.OldValue}}, true
}

func deleteParameter(s Services) Def[DeleteParamInput, params.Change] {
	return Def[DeleteParamInput, params.Change]{
		Name: ToolDeleteParameter, Title: "Delete a parameter value", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, Destructive: true,
		Description: "Remove the value stored at one scope, so readers fall back to the next scope (tenant+mode → tenant → global+mode → global → default).",
		Method:      http.MethodDelete, Path: "/parameters/{key}",
		Target: globalScope(func(in *DeleteParamInput) ParamScope { return in.ParamScope }),
		Preview: func(ctx context.Context, c *Call, in *DeleteParamInput) (Preview, error) {
			return Preview{Effect: fmt.Sprintf("delete the value of %s stored at %s", in.Key, in.scope())}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *DeleteParamInput) (params.Change, error) {
			return s.Params.Delete(ctx, c.Actor, in.scope(), in.Key, c.Confirm)
		},
		Compensate: func(in *DeleteParamInput, out *params.Change) (Undo, bool) {
			if out.OldValue == nil { // nothing was deleted
				return Undo{}, false
			}
			return restoreParameter(in.Control, in.ParamScope, in.Key, out)
		},
	}
}

func parameterHistory(s Services) Def[HistoryInput, HistoryList] {
	return Def[HistoryInput, HistoryList]{
		Name: ToolParameterHistory, Title: "Parameter history", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "Show who changed a parameter, when, at which scope, and from what to what (secrets redacted), newest first.",
		Method:      http.MethodGet, Path: "/parameters/{key}/history",
		Handle: func(ctx context.Context, c *Call, in *HistoryInput) (HistoryList, error) {
			q := params.HistoryQuery{Key: in.Key, BeforeID: in.BeforeID, Limit: in.Limit}
			if q.Limit == 0 {
				q.Limit = 50
			}
			if in.Tenant != "" || !policies.IsPlatformOperator(c.Actor) {
				q.Scope = &params.Scope{TenantID: c.Tenant.ID, Mode: in.Mode}
			}
			h, err := s.Params.History(ctx, q)
			if h == nil {
				h = []params.Change{}
			}
			return HistoryList{Changes: h}, err
		},
	}
}

func exportParameters(s Services) Def[ExportInput, params.File] {
	return Def[ExportInput, params.File]{
		Name: ToolExportParameters, Title: "Export parameters", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, ReadOnly: true, Platform: true,
		Description: "Export every stored parameter value as a JSON file for backup or transfer. Secrets appear only sealed under this installation's master key.",
		Method:      http.MethodGet, Path: "/parameters/export",
		Handle: func(ctx context.Context, c *Call, in *ExportInput) (params.File, error) {
			f, err := s.Params.Export(ctx, in.Tenant)
			if err != nil {
				return params.File{}, err
			}
			return *f, nil
		},
	}
}

func importParameters(s Services) Def[ImportInput, params.ImportResult] {
	return Def[ImportInput, params.ImportResult]{
		Name: ToolImportParameters, Title: "Import parameters", Group: ToolsetParameters, MinRole: actor.RolePodAdmin, Platform: true,
		Description: "Import an export file. The whole file is validated first (every problem is listed with its path) and applied in one transaction, or nothing is. Values LIVE mode reads need confirm naming every target, as the refusal states.",
		Method:      http.MethodPost, Path: "/parameters/import",
		Redact: func(in *ImportInput) any { return map[string]int{"file_bytes": len(in.File)} },
		// The preview validates the whole file as the import would, so
		// a dry run answers every problem, or every change old → new.
		Preview: func(ctx context.Context, c *Call, in *ImportInput) (Preview, error) {
			plan, err := s.Params.PlanImport(ctx, in.File)
			if err != nil {
				return Preview{}, err
			}
			p := Preview{Effect: fmt.Sprintf("import %d values", len(plan.Changes))}
			if plan.Confirm != "" {
				p.Effect += fmt.Sprintf("; LIVE mode reads them at %s, so the import needs confirm=%q", plan.Confirm, plan.Confirm)
			}
			for _, ch := range plan.Changes {
				old := "unset"
				if ch.Old != nil {
					old = fmt.Sprintf("%q", *ch.Old)
				}
				p.Changes = append(p.Changes, fmt.Sprintf("%s at %s: %s → %q", ch.Key, ch.Scope, old, ch.New))
			}
			return p, nil
		},
		Handle: func(ctx context.Context, c *Call, in *ImportInput) (params.ImportResult, error) {
			if len(in.File) == 0 {
				return params.ImportResult{}, fault.Invalid("file", "missing")
			}
			return s.Params.Import(ctx, c.Actor, in.File, c.Confirm)
		},
	}
}

// readerMode is the mode a listing resolves values in: the one asked for,
// else the tenant's, else SANDBOX for platform-wide calls.
func readerMode(c *Call, m mode.Mode) mode.Mode {
	if m != "" {
		return m
	}
	if c.Tenant.Mode != "" {
		return c.Tenant.Mode
	}
	return mode.Sandbox
}

func sourceName(s params.Source) string {
	if s.Default {
		return "the default"
	}
	return s.Scope.String()
}
