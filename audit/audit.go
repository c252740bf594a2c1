// Package audit defines the audit record every mutating operation leaves
// behind: who (actor), through which face, in which tenant and mode, what
// (action and input, secrets redacted), the verdict, and the result or error.
// Records are written by package store; this package holds only the shape and
// the query, so any package can append without importing a face.
package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/mode"
)

// Face names the way a call reached the platform.
type Face string

// Faces.
const (
	FaceREST  Face = "rest"
	FaceMCP   Face = "mcp"
	FaceAgent Face = "agent"
	FaceSlack Face = "slack"
	FaceWeb   Face = "web"
	// FaceCLI is the gpubroker command acting on the database directly.
	FaceCLI Face = "cli"
	// FaceDirect is a call made in process by the platform itself or a
	// test, not on behalf of a face.
	FaceDirect Face = "direct"
)

// Faces are every face a record may name, for filters and their choices.
var Faces = []Face{FaceREST, FaceMCP, FaceAgent, FaceSlack, FaceWeb, FaceCLI, FaceDirect}

// Record is one audit entry.
type Record struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    actor.Actor     `json:"actor"`
	Face     Face            `json:"face,omitempty"`
	TenantID string          `json:"tenant_id,omitempty"`
	Mode     mode.Mode       `json:"mode,omitempty"`
	Action   string          `json:"action"`
	Input    json.RawMessage `json:"input,omitempty"`
	Verdict  string          `json:"verdict,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    string          `json:"error,omitempty"`
	Duration time.Duration   `json:"duration_ns,omitempty"`
	// RequestID is the id of the request that carried the call (the REST
	// request id, or the MCP session and request).
	RequestID string `json:"request_id,omitempty"`
	// ApprovalID and ApprovedBy name the stored approval a call was
	// executed from and the admin who approved it.
	ApprovalID string `json:"approval_id,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`
}

// Filter selects records, newest first. Zero fields do not filter.
type Filter struct {
	TenantID string
	Action   string
	ActorID  string
	Face     Face
	Verdict  string
	Since    time.Time
	Until    time.Time
	BeforeID int64
	Limit    int
}

// Log appends and queries records.
type Log interface {
	AppendAudit(ctx context.Context, r Record) (int64, error)
	QueryAudit(ctx context.Context, f Filter) ([]Record, error)
}

// JSON marshals v for a record's Input or Result; a value that cannot be
// marshalled is recorded as its error so the record is still written.
func JSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"marshal_error": err.Error()})
	}
	return b
}
