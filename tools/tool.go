package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tenant"
)

// Control holds the per-call switches every mutating tool accepts. Mutating
// inputs embed it, so it appears in their schemas on every face.
type Control struct {
	// Confirm repeats the phrase a needs-confirmation answer asked for.
	Confirm string `json:"confirm,omitempty" jsonschema:"confirmation phrase asked for by a previous needs_confirmation answer (the tenant id, or global)"`
	// DryRun previews what the call would do and cost, without doing it.
	DryRun bool `json:"dry_run,omitempty" jsonschema:"when true, preview what the call would do and cost without doing it"`
}

func (c *Control) control() *Control { return c }

type controlled interface{ control() *Control }

// Validator is implemented by inputs with rules beyond their schema.
type Validator interface{ Validate() error }

// Targeter is implemented by inputs that name the tenant they act on.
type Targeter interface{ TargetTenant() string }

// Call is what a handler knows about the call it serves.
type Call struct {
	Actor     actor.Actor
	Face      audit.Face
	RequestID string
	// Tenant is the tenant the call acts on (zero for platform-wide calls).
	Tenant  tenant.Tenant
	Confirm string
	DryRun  bool
	// ApprovalID names the stored approval this call executes, when an
	// admin approved it.
	ApprovalID string
	// Reservation is the budget hold of a spending call, for a tool that
	// Holds it.
	Reservation string
}

// Preview is what a dry run answers: the effect in words, the changes it
// would make, and the estimated cost.
type Preview struct {
	DryRun  bool         `json:"dry_run"`
	Effect  string       `json:"effect"`
	Changes []string     `json:"changes,omitempty"`
	CostUSD money.Amount `json:"cost_usd"`
}

// Def defines one tool. In and Out are its typed input and output.
type Def[In, Out any] struct {
	Name        string
	Title       string
	Description string
	// Group is the toolset: tenants, parameters, users, tokens, audit…
	Group       Toolset
	MinRole     actor.Role
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	OpenWorld   bool
	// Platform marks a tool that acts across tenants.
	Platform bool
	// MFAExempt keeps the tool open to a POD Admin without MFA while MFA is
	// required, so the admin can enrol.
	MFAExempt bool
	// Spends marks a tool that can cost money; Estimate must say how much.
	Spends bool
	// Public opens the tool to visitors who have not signed in (REST only;
	// they call as actor.Anonymous from their address).
	Public bool
	// Holds keeps a spending tool's budget reservation held after success:
	// the handler takes it (Call.Reservation) and the work it starts
	// settles or releases it when it ends.
	Holds bool
	// Method and Path place the tool in the REST face (Path under /api/v1,
	// with {name} segments filled from input fields of that JSON name).
	Method string
	Path   string
	// Status is the REST status of a success (200 when zero).
	Status int
	// Also places the tool at further REST routes (a PATCH to change
	// what a POST creates).
	Also []Route

	// Target refines the policy target beyond the tenant (platform-wide
	// inputs, owned resources). Optional.
	Target func(ctx context.Context, c *Call, in *In, t *policies.Target) error
	// Estimate returns the cost a spending call reserves.
	Estimate func(ctx context.Context, c *Call, in *In) (money.Amount, error)
	// Preview describes what a mutating call would do (dry run).
	Preview func(ctx context.Context, c *Call, in *In) (Preview, error)
	// Handle does the work.
	Handle func(ctx context.Context, c *Call, in *In) (Out, error)
	// Redact returns what the audit log records as input; by default the
	// input itself, with fields tagged audit:"redact" blanked.
	Redact func(in *In) any
	// AuditResult returns what the audit log records as the result of a
	// mutation; by default the output itself.
	AuditResult func(out *Out) any
	// Compensate is the call that undoes a successful call with input in
	// and output out (deploy → terminate, stop → start), or false when
	// this one cannot be undone (a secret's old value is not kept). A
	// tool without it cannot be reverted.
	Compensate func(in *In, out *Out) (Undo, bool)
}

// Undo is the call that compensates another: the tool and its input.
type Undo struct {
	Tool string `json:"tool"`
	Args any    `json:"args"`
}

// Route is one more REST route of a tool.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status,omitempty"`
}

// Routes lists every REST route of the tool as a Meta each: its own, then
// those of Also (named <tool>_<method> in the OpenAPI document).
func (m Meta) Routes() []Meta {
	if m.Path == "" {
		return nil
	}
	out := []Meta{m}
	for _, r := range m.Also {
		v := m
		v.Method, v.Path, v.Status, v.Also = r.Method, r.Path, r.Status, nil
		out = append(out, v)
	}
	return out
}

// Meta is the face-independent description of a registered tool.
type Meta struct {
	Name        string     `json:"name"`
	Title       string     `json:"title,omitempty"`
	Description string     `json:"description"`
	Group       Toolset    `json:"group"`
	MinRole     actor.Role `json:"min_role"`
	ReadOnly    bool       `json:"read_only"`
	Destructive bool       `json:"destructive"`
	Idempotent  bool       `json:"idempotent"`
	OpenWorld   bool       `json:"open_world"`
	Platform    bool       `json:"platform,omitempty"`
	MFAExempt   bool       `json:"mfa_exempt,omitempty"`
	Spends      bool       `json:"spends"`
	Holds       bool       `json:"holds_budget,omitempty"`
	Public      bool       `json:"public,omitempty"`
	// Reversible says the tool declares its compensating call.
	Reversible   bool            `json:"reversible,omitempty"`
	Method       string          `json:"method,omitempty"`
	Path         string          `json:"path,omitempty"`
	Status       int             `json:"status,omitempty"`
	Also         []Route         `json:"also,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema"`
}

// Policy returns what policies need to know about the tool.
func (m *Meta) Policy() policies.Tool {
	return policies.Tool{Name: m.Name, Group: string(m.Group), MinRole: m.MinRole, ReadOnly: m.ReadOnly, Spends: m.Spends, Destructive: m.Destructive,
		Platform: m.Platform, MFAExempt: m.MFAExempt, Public: m.Public}
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{2,63}$`)

// schemaOf derives the JSON Schema of T.
func schemaOf[T any]() (json.RawMessage, error) {
	s, err := jsonschema.For[T](&jsonschema.ForOptions{TypeSchemas: typeSchemas})
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

func (d *Def[In, Out]) meta() (Meta, error) {
	if !namePattern.MatchString(d.Name) {
		return Meta{}, fmt.Errorf("tool name %q: want %s", d.Name, namePattern)
	}
	if d.Description == "" || d.Handle == nil || !d.MinRole.Valid() || d.Group == "" {
		return Meta{}, fmt.Errorf("tool %s: description, group, a valid min role and a handler are required", d.Name)
	}
	if !d.ReadOnly && d.Preview == nil {
		return Meta{}, fmt.Errorf("tool %s mutates and needs a dry-run Preview", d.Name)
	}
	if d.Spends && d.Estimate == nil {
		return Meta{}, fmt.Errorf("tool %s spends and needs an Estimate", d.Name)
	}
	if d.Public && (d.Spends || d.Platform) {
		return Meta{}, fmt.Errorf("tool %s is public and may not spend or act across tenants", d.Name)
	}
	if d.Compensate != nil && d.ReadOnly {
		return Meta{}, fmt.Errorf("tool %s reads only and has nothing to compensate", d.Name)
	}
	if d.Holds && !d.Spends {
		return Meta{}, fmt.Errorf("tool %s holds a budget reservation but does not spend", d.Name)
	}
	var in In
	if _, ok := any(&in).(controlled); !ok && !d.ReadOnly {
		return Meta{}, fmt.Errorf("tool %s mutates: its input must embed tools.Control", d.Name)
	}
	if d.Method == "" {
		d.Method = http.MethodPost
	}
	inSchema, err := schemaOf[In]()
	if err != nil {
		return Meta{}, fmt.Errorf("tool %s input schema: %w", d.Name, err)
	}
	outSchema, err := schemaOf[Out]()
	if err != nil {
		return Meta{}, fmt.Errorf("tool %s output schema: %w", d.Name, err)
	}
	return Meta{Name: d.Name, Title: d.Title, Description: d.Description, Group: d.Group, MinRole: d.MinRole,
		ReadOnly: d.ReadOnly, Destructive: d.Destructive, Idempotent: d.Idempotent || d.ReadOnly, OpenWorld: d.OpenWorld,
		Platform: d.Platform, MFAExempt: d.MFAExempt, Spends: d.Spends, Holds: d.Holds, Public: d.Public, Reversible: d.Compensate != nil, Method: d.Method, Path: d.Path, Status: d.Status, Also: d.Also,
		InputSchema: inSchema, OutputSchema: outSchema}, nil
}

// taggedSecrets lists the string fields of struct type t tagged
// audit:"redact". It runs once per tool, at registration, so an audit
// record costs no reflection.
func taggedSecrets(t reflect.Type) []int {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []int
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("audit") == "redact" && f.Type.Kind() == reflect.String {
			out = append(out, i)
		}
	}
	return out
}

// redactFields returns a copy of *in with the given string fields, where
// set, replaced by [redacted].
func redactFields[In any](in *In, fields []int) any {
	cp := *in
	v := reflect.ValueOf(&cp).Elem()
	for _, i := range fields {
		if v.Field(i).String() != "" {
			v.Field(i).SetString("[redacted]")
		}
	}
	return &cp
}
