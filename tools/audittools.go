package tools

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/policies"
)

// AuditInput is the input of query_audit.
type AuditInput struct {
	TenantRef
	Tool     string     `json:"tool,omitempty" jsonschema:"only calls of this tool or action"`
	ActorID  string     `json:"actor,omitempty" jsonschema:"only calls by this actor id"`
	Face     audit.Face `json:"face,omitempty" jsonschema:"only calls that came through this face: rest, mcp, agent, slack, web, cli or direct"`
	Verdict  string     `json:"verdict,omitempty" jsonschema:"only calls with this verdict: allow, deny, needs_confirmation or needs_approval"`
	Since    time.Time  `json:"since,omitzero" jsonschema:"only records at or after this time (RFC 3339)"`
	Until    time.Time  `json:"until,omitzero" jsonschema:"only records before this time (RFC 3339)"`
	BeforeID int64      `json:"before,omitempty" jsonschema:"page: only records older than this id"`
	Limit    int        `json:"limit,omitempty" jsonschema:"at most this many records (default 100, max 1000)"`
}

// Validate implements Validator.
func (in *AuditInput) Validate() error {
	switch {
	case in.Face != "" && !slices.Contains(audit.Faces, in.Face):
		return fault.Invalid("face", "want one of %v, got %q", audit.Faces, in.Face)
	case in.Verdict != "" && !slices.Contains(policies.Decisions, policies.Decision(in.Verdict)):
		return fault.Invalid("verdict", "want one of %v, got %q", policies.Decisions, in.Verdict)
	case !in.Since.IsZero() && !in.Until.IsZero() && !in.Until.After(in.Since):
		return fault.Invalid("until", "must be after since")
	case in.Limit < 0 || in.Limit > 1000:
		return fault.Invalid("limit", "want 0 to 1000, got %d", in.Limit)
	case in.BeforeID < 0:
		return fault.Invalid("before", "cannot be negative")
	}
	return nil
}

// AuditList is the output of query_audit.
type AuditList struct {
	Records []audit.Record `json:"records"`
	// Next is the before of the next page; zero on the last.
	Next int64 `json:"next,omitempty" jsonschema:"pass as before for the next, older page; absent on the last"`
}

// Tool names of the audit toolset, for the packages that call them by name.
const (
	ToolQueryAudit = "query_audit"
)

// registerAuditTools registers the audit toolset.
func registerAuditTools(r *Registry, s Services) {
	registerToolset(r, ToolsetAudit,
		queryAudit(s))
}

func queryAudit(s Services) Def[AuditInput, AuditList] {
	return Def[AuditInput, AuditList]{
		Name: ToolQueryAudit, Title: "Query the audit log", Group: ToolsetAudit, MinRole: actor.RolePodAdmin, ReadOnly: true,
		Description: "List audit records newest first, filtered by tool, actor, face, verdict and time, a page at a time: every tool call on every face (actor, face, tenant, mode, tool, input with secrets redacted, verdict, result or error, duration) and every authentication event.",
		Method:      http.MethodGet, Path: "/audit",
		Handle: func(ctx context.Context, c *Call, in *AuditInput) (AuditList, error) {
			if s.Flush != nil {
				s.Flush()
			}
			f := audit.Filter{TenantID: c.Tenant.ID, Action: in.Tool, ActorID: in.ActorID, Face: in.Face, Verdict: in.Verdict,
				Since: in.Since, Until: in.Until, BeforeID: in.BeforeID, Limit: in.Limit}
			if in.Tenant == "" && policies.IsPlatformOperator(c.Actor) {
				f.TenantID = ""
			}
			if f.Limit == 0 {
				f.Limit = 100
			}
			recs, err := s.Audit.QueryAudit(ctx, f)
			if recs == nil {
				recs = []audit.Record{}
			}
			out := AuditList{Records: recs}
			// A full page may have older records after it.
			if len(recs) == f.Limit {
				out.Next = recs[len(recs)-1].ID
			}
			return out, err
		},
	}
}
