package tools

import (
	"context"
	"net/http"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/policies"
)

// AuditInput is the input of query_audit.
type AuditInput struct {
	TenantRef
	Tool     string    `json:"tool,omitempty" jsonschema:"only calls of this tool or action"`
	ActorID  string    `json:"actor,omitempty" jsonschema:"only calls by this actor id"`
	Since    time.Time `json:"since,omitzero" jsonschema:"only records at or after this time (RFC 3339)"`
	Until    time.Time `json:"until,omitzero" jsonschema:"only records before this time (RFC 3339)"`
	BeforeID int64     `json:"before,omitempty" jsonschema:"page: only records older than this id"`
	Limit    int       `json:"limit,omitempty" jsonschema:"at most this many records (default 100, max 1000)"`
}

// AuditList is the output of query_audit.
type AuditList struct {
	Records []audit.Record `json:"records"`
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
		Description: "List audit records newest first: every tool call on every face (actor, face, tenant, mode, tool, input with secrets redacted, verdict, result or error, duration) and every authentication event.",
		Method:      http.MethodGet, Path: "/audit",
		Handle: func(ctx context.Context, c *Call, in *AuditInput) (AuditList, error) {
			if s.Flush != nil {
				s.Flush()
			}
			f := audit.Filter{TenantID: c.Tenant.ID, Action: in.Tool, ActorID: in.ActorID, Since: in.Since, Until: in.Until,
				BeforeID: in.BeforeID, Limit: in.Limit}
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
			return AuditList{Records: recs}, err
		},
	}
}
