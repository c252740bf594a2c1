package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tenant"
)

// Tenants finds a tenant's current state without I/O on the hot path.
type Tenants interface {
	Lookup(ctx context.Context, id string) (tenant.Tenant, error)
}

// Limits reads the hot-reloaded limits a call is held to.
type Limits interface {
	// RatePerMinute is how many calls one actor may make to one tool per
	// minute in the tenant and mode.
	RatePerMinute(tenantID string, m mode.Mode) int
	// Budget returns the tenant's and each user's monthly spending limit
	// (0 means no per-user limit).
	Budget(tenantID string, m mode.Mode) (tenantLimit, userLimit money.Amount)
	// MFARequired says whether POD Admins must have signed in with MFA.
	MFARequired() bool
	// ApprovalTTL is how long a held call stays decidable.
	ApprovalTTL(tenantID string, m mode.Mode) time.Duration
	// ApprovalAbove is the estimate above which a spending call of anyone
	// but a POD Admin waits for approval (0: none).
	ApprovalAbove(tenantID string, m mode.Mode) money.Amount
	// AgentApproval is the tenant's rule of which calls of the agent wait.
	AgentApproval(tenantID string, m mode.Mode) policies.AgentRule
	// AgentBudget is what the agent may spend for the tenant.
	AgentBudget(tenantID string, m mode.Mode) policies.AgentBudget
}

// Approvals keeps the calls that wait for an admin. The store implements
// it; every change of state is one conditional write.
type Approvals interface {
	CreateApproval(ctx context.Context, a approval.Approval) error
	GetApproval(ctx context.Context, tenantID, id string) (approval.Approval, error)
	DecideApproval(ctx context.Context, d approval.Decision) (approval.Approval, error)
	FinishApproval(ctx context.Context, o approval.Outcome) error
	ListApprovals(ctx context.Context, f approval.Filter) ([]approval.Approval, error)
}

// AuditSink receives one record per call.
type AuditSink interface {
	Record(r audit.Record)
}

// Deps are what the registry needs.
type Deps struct {
	Tenants Tenants
	Limits  Limits
	Budget  budget.Ledger
	Audit   AuditSink
	// Approvals stores held calls; without it a call that needs approval
	// is refused with nothing stored.
	Approvals Approvals
	Log       *slog.Logger
	Now       func() time.Time
	// Rate counts calls for the rate limit across instances (sliding
	// window, package ratelimit); nil counts them in process, in fixed
	// one-minute windows.
	Rate RateCounter
}

// entry is a registered tool with its typed closures erased.
type entry struct {
	meta     Meta
	policy   policies.Tool
	decode   func(raw []byte) (any, error)
	target   func(ctx context.Context, c *Call, in any, t *policies.Target) error
	estimate func(ctx context.Context, c *Call, in any) (money.Amount, error)
	preview  func(ctx context.Context, c *Call, in any) (any, error)
	handle   func(ctx context.Context, c *Call, in any) (any, error)
	redact   func(in any) any
	result   func(out any) any
	// compensate decodes a call's stored input and output and answers
	// the call that undoes it.
	compensate func(input, output json.RawMessage) (Undo, bool, error)
}

// audited is a call's output as its audit record (and a held call's
// outcome) keeps it: the tool's AuditResult of it, or itself.
func (e *entry) audited(out any) json.RawMessage {
	if e.result != nil {
		out = e.result(out)
	}
	return audit.JSON(out)
}

// Registry holds every tool and runs calls through the one pipeline.
type Registry struct {
	deps   Deps
	tools  map[string]*entry
	names  []string
	limits *rateGuard
}

// NewRegistry returns an empty registry.
func NewRegistry(d Deps) *Registry {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Registry{deps: d, tools: map[string]*entry{}, limits: newRateGuard(d.Rate, d.Log)}
}

// Register adds a tool. It refuses a bad definition or a duplicate name, so
// a mistake stops start-up rather than a call.
func Register[In, Out any](r *Registry, d Def[In, Out]) error {
	m, err := d.meta()
	if err != nil {
		return err
	}
	if _, dup := r.tools[m.Name]; dup {
		return fmt.Errorf("tool %s registered twice", m.Name)
	}
	e := &entry{meta: m, policy: m.Policy()}
	e.decode = func(raw []byte) (any, error) {
		in := new(In)
		if err := decodeStrict(raw, in); err != nil {
			return nil, err
		}
		if v, ok := any(in).(Validator); ok {
			if err := v.Validate(); err != nil {
				return nil, err
			}
		}
		return in, nil
	}
	if d.Target != nil {
		e.target = func(ctx context.Context, c *Call, in any, t *policies.Target) error {
			return d.Target(ctx, c, in.(*In), t)
		}
	}
	if d.Estimate != nil {
		e.estimate = func(ctx context.Context, c *Call, in any) (money.Amount, error) { return d.Estimate(ctx, c, in.(*In)) }
	}
	if d.Preview != nil {
		e.preview = func(ctx context.Context, c *Call, in any) (any, error) { return d.Preview(ctx, c, in.(*In)) }
	}
	e.handle = func(ctx context.Context, c *Call, in any) (any, error) { return d.Handle(ctx, c, in.(*In)) }
	if d.Redact != nil {
		e.redact = func(in any) any { return d.Redact(in.(*In)) }
	} else if fields := taggedSecrets(reflect.TypeFor[In]()); len(fields) > 0 {
		e.redact = func(in any) any { return redactFields(in.(*In), fields) }
	}
	if d.AuditResult != nil {
		e.result = func(out any) any {
			o, ok := out.(Out)
			if !ok {
				return out
			}
			return d.AuditResult(&o)
		}
	}
	if d.Compensate != nil {
		e.compensate = func(input, output json.RawMessage) (Undo, bool, error) {
			in, out := new(In), new(Out)
			if err := json.Unmarshal(input, in); err != nil {
				return Undo{}, false, fmt.Errorf("read the input of %s: %w", m.Name, err)
			}
			if err := json.Unmarshal(output, out); err != nil {
				return Undo{}, false, fmt.Errorf("read the result of %s: %w", m.Name, err)
			}
			u, ok := d.Compensate(in, out)
			return u, ok, nil
		}
	}
	r.tools[m.Name] = e
	r.names = append(r.names, m.Name)
	sort.Strings(r.names)
	return nil
}

// MustRegister is Register for the fixed set wired at start-up.
func MustRegister[In, Out any](r *Registry, d Def[In, Out]) {
	if err := Register(r, d); err != nil {
		panic(err)
	}
}

// Tools lists every tool's description in name order.
func (r *Registry) Tools() []Meta {
	out := make([]Meta, len(r.names))
	for i, n := range r.names {
		out[i] = r.tools[n].meta
	}
	return out
}

// Tool returns one tool's description.
func (r *Registry) Tool(name string) (Meta, bool) {
	e, ok := r.tools[name]
	if !ok {
		return Meta{}, false
	}
	return e.meta, true
}

// Compensation is the call that undoes a successful call of tool with
// input and output as recorded: a conflict when the tool declares none or
// this call cannot be undone.
func (r *Registry) Compensation(tool string, input, output json.RawMessage) (Undo, error) {
	e := r.tools[tool]
	if e == nil {
		return Undo{}, fault.NotFound("tool", tool)
	}
	if e.compensate == nil {
		return Undo{}, fault.Conflict("%s declares no compensating call: it cannot be reverted", tool)
	}
	u, ok, err := e.compensate(input, output)
	if err != nil {
		return Undo{}, err
	}
	if !ok {
		return Undo{}, fault.Conflict("this %s call cannot be undone: what it replaced was not kept", tool)
	}
	return u, nil
}

// Visible lists the tools a may see, in name order.
func (r *Registry) Visible(a actor.Actor) []Meta {
	var out []Meta
	for _, n := range r.names {
		if e := r.tools[n]; policies.Visible(a, e.policy) {
			out = append(out, e.meta)
		}
	}
	return out
}

// Request is one call from a face.
type Request struct {
	Actor     actor.Actor
	Face      audit.Face
	RequestID string
	Tool      string
	Input     json.RawMessage
}

// approved is what the registry knows of a stored approval it executes.
type approved struct {
	id string
	by actor.Actor
}

// Result is a call's outcome: the output, or the error, and the verdict.
type Result struct {
	Output  any
	Verdict policies.Verdict
	Err     error
}

// Refusal is the error of a call the policies did not allow. A call held
// for approval carries its stored approval.
type Refusal struct {
	Verdict  policies.Verdict
	Approval *approval.Approval
}

func (r *Refusal) Error() string { return r.Verdict.Reason }

// Call runs one tool call through the pipeline and audits it.
func (r *Registry) Call(ctx context.Context, req Request) Result {
	return r.call(ctx, req, nil)
}

func (r *Registry) call(ctx context.Context, req Request, ap *approved) (res Result) {
	start := r.deps.Now()
	c := &Call{Actor: req.Actor, Face: req.Face, RequestID: req.RequestID}
	if ap != nil {
		c.ApprovalID = ap.id
	}
	e := r.tools[req.Tool]
	var in any
	defer func() {
		r.audit(req, c, e, in, ap, res, start)
	}()
	if e == nil {
		return refused(policies.Verdict{Decision: policies.Deny, Rule: policies.RuleTool, Reason: fmt.Sprintf("unknown tool %q", req.Tool)},
			fault.NotFound("tool", req.Tool))
	}
	var err error
	if in, err = e.decode(req.Input); err != nil {
		return refused(policies.Verdict{Decision: policies.Deny, Rule: policies.RuleInput, Reason: err.Error()}, err)
	}
	if ctl, ok := in.(controlled); ok {
		c.Confirm, c.DryRun = ctl.control().Confirm, ctl.control().DryRun
	}
	target, err := r.target(ctx, c, e, in)
	if err != nil {
		return refused(policies.Verdict{Decision: policies.Deny, Rule: policies.RuleTarget, Reason: err.Error()}, err)
	}
	pc := policies.Call{Actor: c.Actor, Tool: e.policy, Target: target, Confirm: c.Confirm, Approved: ap != nil,
		MFARequired: r.deps.Limits.MFARequired()}
	// A spending call is estimated once: the approval threshold reads the
	// estimate and the budget reserves it.
	var cost *money.Amount
	agent := c.Actor.Kind == actor.KindAgent
	if agent {
		pc.Agent = r.deps.Limits.AgentApproval(target.TenantID, target.Mode)
	}
	if e.meta.Spends && !c.DryRun && ap == nil {
		if pc.ApprovalAbove = r.deps.Limits.ApprovalAbove(target.TenantID, target.Mode); pc.ApprovalAbove > 0 || agent {
			if pc.Estimate, err = e.estimate(ctx, c, in); err != nil {
				return Result{Verdict: policies.Verdict{Decision: policies.Allow}, Err: fmt.Errorf("estimate %s: %w", e.meta.Name, err)}
			}
			cost = &pc.Estimate
		}
	}
	// The rate was counted when a held call was asked for.
	if !c.DryRun && ap == nil {
		pc.RateLimit = r.deps.Limits.RatePerMinute(target.TenantID, target.Mode)
		// One concatenation: the key is the actor (kind:id) and the tool.
		pc.RateCount = r.limits.hit(ctx, string(c.Actor.Kind)+":"+c.Actor.ID+"\x00"+e.meta.Name, start)
	}
	if v := policies.Evaluate(pc); !v.Allowed() && !(c.DryRun && v.Decision != policies.Deny) {
		switch {
		case v.Decision == policies.NeedsApproval:
			return r.hold(ctx, req, c, e, in, v, start)
		case v.Rule == policies.RuleOwnership:
			// Another user's resource is missing to the caller, on
			// every face: its existence is not the caller's to learn.
			return refused(policies.Verdict{Decision: policies.Deny}, &fault.Error{Kind: fault.KindNotFound, Message: "no such resource for this caller"})
		}
		return refused(v, &Refusal{Verdict: v})
	}
	verdict := policies.Verdict{Decision: policies.Allow}
	if c.DryRun {
		return r.dryRun(ctx, c, e, in)
	}
	var reservation string
	if e.meta.Spends {
		var v policies.Verdict
		reservation, v, err = r.reserve(ctx, c, e, in, cost, start)
		if err != nil {
			return Result{Verdict: verdict, Err: err}
		}
		if !v.Allowed() {
			return refused(v, &Refusal{Verdict: v})
		}
	}
	c.Reservation = reservation
	out, err := r.handle(ctx, c, e, in)
	if reservation != "" && (err != nil || !e.meta.Holds) {
		r.settle(ctx, reservation, err)
	}
	if err != nil {
		if fe, ok := fault.As(err); ok && fe.Kind == fault.KindNeedsConfirmation {
			verdict = policies.Verdict{Decision: policies.NeedsConfirmation, Rule: policies.RuleDomain, Reason: fe.Message, Confirm: fe.Confirm}
		}
		return Result{Verdict: verdict, Err: err}
	}
	return Result{Output: out, Verdict: verdict}
}

func refused(v policies.Verdict, err error) Result { return Result{Verdict: v, Err: err} }

// handle runs the handler, turning a panic into an error so one bad call
// cannot take the process down.
func (r *Registry) handle(ctx context.Context, c *Call, e *entry, in any) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.deps.Log.LogAttrs(ctx, slog.LevelError, "tool handler panicked", slog.String("tool", e.meta.Name),
				slog.String("tenant", c.Tenant.ID), slog.String("actor", c.Actor.String()), slog.String("face", string(c.Face)),
				slog.String("request_id", c.RequestID), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("internal error in %s", e.meta.Name)
		}
	}()
	return e.handle(ctx, c, in)
}

func (r *Registry) target(ctx context.Context, c *Call, e *entry, in any) (policies.Target, error) {
	id := c.Actor.TenantID
	if tg, ok := in.(Targeter); ok && tg.TargetTenant() != "" {
		id = tg.TargetTenant()
	}
	var t policies.Target
	if id != "" {
		tn, err := r.deps.Tenants.Lookup(ctx, id)
		if err != nil {
			return t, err
		}
		c.Tenant = tn
		t.TenantID, t.Mode = tn.ID, tn.Mode
	}
	if e.target != nil {
		if err := e.target(ctx, c, in, &t); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (r *Registry) dryRun(ctx context.Context, c *Call, e *entry, in any) Result {
	allow := policies.Verdict{Decision: policies.Allow}
	if e.preview == nil { // read-only tools have nothing to preview
		out, err := r.handle(ctx, c, e, in)
		return Result{Output: out, Verdict: allow, Err: err}
	}
	p, err := r.preview(ctx, c, e, in)
	return Result{Output: p, Verdict: allow, Err: err}
}

// preview is what a mutating call would do and, for a spending call, cost.
func (r *Registry) preview(ctx context.Context, c *Call, e *entry, in any) (any, error) {
	p, err := e.preview(ctx, c, in)
	if err != nil {
		return nil, err
	}
	if pv, ok := p.(Preview); ok && e.estimate != nil {
		if pv.CostUSD, err = e.estimate(ctx, c, in); err != nil {
			return nil, err
		}
		pv.DryRun = true
		p = pv
	}
	return p, nil
}

// reserve holds the call's cost against the budgets, estimating it unless
// the approval threshold already did (estimated).
func (r *Registry) reserve(ctx context.Context, c *Call, e *entry, in any, estimated *money.Amount, now time.Time) (string, policies.Verdict, error) {
	var cost money.Amount
	if estimated != nil {
		cost = *estimated
	} else {
		var err error
		if cost, err = e.estimate(ctx, c, in); err != nil {
			return "", policies.Verdict{}, fmt.Errorf("estimate %s: %w", e.meta.Name, err)
		}
	}
	tcap, ucap := r.deps.Limits.Budget(c.Tenant.ID, c.Tenant.Mode)
	userID := ""
	switch c.Actor.Kind {
	case actor.KindUser:
		userID = c.Actor.ID
	case actor.KindAgent:
		// The agent's spending is its own, held to its own budget.
		userID, ucap = budget.Agent, 0
		if v, err := r.agentSpending(ctx, c, e, cost, now); err != nil || !v.Allowed() {
			return "", v, err
		}
	}
	id, ok, remaining, err := r.deps.Budget.Reserve(ctx, budget.Reservation{TenantID: c.Tenant.ID, UserID: userID, Tool: e.meta.Name,
		Period: budget.Period(now), Amount: cost, TenantCap: tcap, UserCap: ucap, At: now})
	if err != nil {
		return "", policies.Verdict{}, fmt.Errorf("reserve budget: %w", err)
	}
	return id, policies.Budget(e.meta.Name, ok, cost, remaining), nil
}

// agentSpending judges a spending call of the agent against the tenant's
// agent budget: per action, and what it held or spent today and this
// month (UTC).
func (r *Registry) agentSpending(ctx context.Context, c *Call, e *entry, cost money.Amount, now time.Time) (policies.Verdict, error) {
	b := r.deps.Limits.AgentBudget(c.Tenant.ID, c.Tenant.Mode)
	var today, month money.Amount
	if b.PerDay > 0 || b.PerMonth > 0 {
		day := now.UTC().Truncate(24 * time.Hour)
		var err error
		if today, err = r.deps.Budget.Spent(ctx, c.Tenant.ID, budget.Agent, day); err != nil {
			return policies.Verdict{}, err
		}
		if month, err = r.deps.Budget.Spent(ctx, c.Tenant.ID, budget.Agent, day.AddDate(0, 0, 1-day.Day())); err != nil {
			return policies.Verdict{}, err
		}
	}
	return policies.AgentSpending(e.meta.Name, cost, b, today, month), nil
}

// settle turns a reservation into spending after success, or releases it.
// The actual cost is what was reserved; tools that learn their real cost
// later (metered pods) settle again through billing.
func (r *Registry) settle(ctx context.Context, id string, callErr error) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if callErr != nil {
		err = r.deps.Budget.Release(ctx, id)
	} else {
		err = r.deps.Budget.Settle(ctx, id, -1)
	}
	if err != nil {
		r.deps.Log.Error("settle budget reservation", "reservation", id, "err", err)
	}
}

func (r *Registry) audit(req Request, c *Call, e *entry, in any, ap *approved, res Result, start time.Time) {
	rec := audit.Record{At: start.UTC(), Actor: c.Actor, Face: req.Face, TenantID: c.Tenant.ID, Mode: c.Tenant.Mode,
		Action: req.Tool, Verdict: string(res.Verdict.Decision), Duration: r.deps.Now().Sub(start), RequestID: req.RequestID}
	if ap != nil {
		rec.ApprovalID, rec.ApprovedBy = ap.id, ap.by.String()
	}
	var ref *Refusal
	if errors.As(res.Err, &ref) && ref.Approval != nil {
		rec.ApprovalID = ref.Approval.ID
	}
	if rec.TenantID == "" {
		rec.TenantID = c.Actor.TenantID
	}
	switch {
	case e == nil || in == nil:
		// Unparsed input is recorded only as its size: it may hold
		// secrets the tool would have redacted.
		rec.Input = audit.JSON(map[string]int{"bytes": len(req.Input)})
	case e.redact != nil:
		rec.Input = audit.JSON(e.redact(in))
	default:
		rec.Input = compact(req.Input)
	}
	if res.Err != nil {
		rec.Error = res.Err.Error()
	} else if e != nil && !e.meta.ReadOnly && !c.DryRun {
		rec.Result = e.audited(res.Output)
	}
	if c.DryRun {
		rec.Verdict += "+dry_run"
	}
	r.deps.Audit.Record(rec)
}

func compact(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	return json.RawMessage(raw)
}

// decodeStrict decodes a JSON object into v, refusing unknown fields,
// trailing data and wrong types with an error that names the field.
func decodeStrict(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &typ):
			return fault.Malformed(typ.Field, "want %s, got %s", typ.Type, typ.Value)
		case errors.As(err, &syn):
			return fault.Malformed("", "broken JSON at byte %d: %v", syn.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fault.Malformed(f, "unknown field")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fault.Malformed("", "broken JSON: unexpected end of input")
		}
		return fault.Malformed("", "broken JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.Malformed("", "unexpected data after the JSON object")
	}
	return nil
}
