package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/gpubroker/pod/approval"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// Problem is an RFC 9457 problem document with our extension members.
type Problem struct {
	Type     string          `json:"type"`
	Title    string          `json:"title"`
	Status   int             `json:"status"`
	Detail   string          `json:"detail,omitempty"`
	Instance string          `json:"instance,omitempty"`
	Errors   []fault.Problem `json:"errors,omitempty"`
	Confirm  string          `json:"confirm,omitempty"`
	Missing  []string        `json:"missing,omitempty"`
	Rule     policies.Rule   `json:"rule,omitempty"`
	// Approval is the stored call an admin must decide (status 202).
	Approval *approval.Approval `json:"approval,omitempty"`
}

const problemBase = "https://gpubroker.dev/problems/"

// status maps a fault kind to its HTTP status; this is the one place the
// REST face does so.
var status = map[fault.Kind]int{
	fault.KindMalformed:         http.StatusBadRequest,
	fault.KindInvalid:           http.StatusUnprocessableEntity,
	fault.KindNotFound:          http.StatusNotFound,
	fault.KindConflict:          http.StatusConflict,
	fault.KindForbidden:         http.StatusForbidden,
	fault.KindUnauthenticated:   http.StatusUnauthorized,
	fault.KindNeedsConfirmation: http.StatusConflict,
	fault.KindUnavailable:       http.StatusServiceUnavailable,
	fault.KindRateLimited:       http.StatusTooManyRequests,
	fault.KindGone:              http.StatusGone,
}

// problemFor turns any error from a tool call into a problem document.
func problemFor(err error) Problem {
	var ref *tools.Refusal
	if errors.As(err, &ref) {
		v := ref.Verdict
		p := Problem{Type: problemBase + string(v.Decision), Title: "call refused", Status: http.StatusForbidden,
			Detail: v.Reason, Rule: v.Rule, Confirm: v.Confirm, Approval: ref.Approval}
		switch {
		case v.Decision == policies.NeedsConfirmation:
			p.Title, p.Status = "confirmation required", http.StatusConflict
		case v.Decision == policies.NeedsApproval:
			p.Title, p.Status = "approval required", http.StatusAccepted
		case v.Rule == policies.RuleRate:
			p.Title, p.Status = "rate limited", http.StatusTooManyRequests
		case v.Rule == policies.RuleBudget:
			p.Title, p.Status = "over budget", http.StatusPaymentRequired
		}
		return p
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return Problem{Type: problemBase + "too_large", Title: "request body too large", Status: http.StatusRequestEntityTooLarge,
			Detail: "the body exceeds the limit of this endpoint"}
	}
	if fe, ok := fault.As(err); ok {
		st, known := status[fe.Kind]
		if !known {
			st = http.StatusInternalServerError
		}
		return Problem{Type: problemBase + string(fe.Kind), Title: fe.Message, Status: st, Detail: fe.Error(),
			Errors: fe.Problems, Confirm: fe.Confirm, Missing: fe.Missing}
	}
	return Problem{Type: problemBase + "internal", Title: "internal error", Status: http.StatusInternalServerError,
		Detail: "the request failed; the request id identifies it in the logs"}
}

// writeProblem writes err as problem JSON; unexpected errors are logged,
// never shown.
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := problemFor(err)
	p.Instance = r.URL.Path
	if p.Approval != nil {
		w.Header().Set("Location", "/api/v1/approvals/"+p.Approval.ID)
	}
	if p.Status >= 500 {
		log.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// jsonType is the Content-Type of every JSON answer, shared rather than
// allocated per response (nothing appends to it).
var jsonType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonType
	if pe, ok := v.(preEncoded); ok {
		if b := pe.EncodedJSON(); b != nil {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
			w.WriteHeader(status)
			_, _ = w.Write(b)
			_, _ = w.Write(newline)
			return
		}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var newline = []byte("\n")

// preEncoded is an output that carries its own compact JSON, encoded once
// and served many times (a memoized page of offers): writing it as is
// spares re-encoding and re-validating the same bytes on every request.
type preEncoded interface{ EncodedJSON() []byte }
