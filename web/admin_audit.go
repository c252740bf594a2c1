package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// auditFields are the audit log's filters, as the page's form names them.
var auditFields = []string{"actor", "face", "tool", "verdict", "since", "until"}

// auditPage is how many records one page of the log shows.
const auditPage = 50

// auditView is the audit log's data: the filters as entered, one page of
// records, and the links to the older page and to the export.
type auditView struct {
	Form     form
	Faces    []audit.Face
	Verdicts []policies.Decision
	Records  []audit.Record
	Next     string
	CSV      string
}

// auditQuery reads the filters of the log's form into query_audit's
// input. A time is read as UTC, as the form's field says, whether the
// browser sent it to the minute or as RFC 3339; one that reads as
// neither is put beside its field.
func auditQuery(r *http.Request) (form, map[string]any) {
	f := newForm(r, auditFields...)
	in := map[string]any{}
	for _, k := range []string{"actor", "face", "tool", "verdict"} {
		if v := f.Values[k]; v != "" {
			in[k] = v
		}
	}
	for _, k := range []string{"since", "until"} {
		v := f.Values[k]
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02T15:04", v)
		if err != nil {
			t, err = time.Parse(time.RFC3339, v)
		}
		if err != nil {
			f.Errors[k] = "want a date and time such as 2025-03-01T14:30 (UTC)"
			continue
		}
		in[k] = t.UTC().Format(time.RFC3339)
	}
	if b := r.FormValue("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			f.Error = "The page asked for is not one of the log's: start again from the newest records."
		}
		in["before"] = n
	}
	return f, in
}

// filterQuery is the query string of the filters entered, for the links
// that keep them.
func filterQuery(f form) url.Values {
	q := url.Values{}
	for _, k := range auditFields {
		if v := f.Values[k]; v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// adminAudit is the audit log (R19): every call on every face and every
// sign-in, newest first, filtered by actor, face, tool, verdict and time,
// a page at a time, each record opening on its own page.
func (p *Pages) adminAudit(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f, in := auditQuery(r)
	v := auditView{Form: f, Faces: audit.Faces, Verdicts: policies.Decisions}
	status := http.StatusOK
	if len(f.Errors) > 0 || f.Error != "" {
		p.renderAdmin(w, r, http.StatusBadRequest, "audit", "Audit log", "audit", v)
		return
	}
	in["limit"] = auditPage
	var list tools.AuditList
	if err := p.call(r, s.actor, tools.ToolQueryAudit, in, &list); err != nil {
		if !badInput(err) {
			p.fail(w, r, err)
			return
		}
		v.Form.refuse(err)
		status = http.StatusBadRequest
	}
	v.Records = list.Records
	q := filterQuery(v.Form)
	v.CSV = "/admin/audit.csv"
	if len(q) > 0 {
		v.CSV += "?" + q.Encode()
	}
	if list.Next != 0 {
		q.Set("before", strconv.FormatInt(list.Next, 10))
		v.Next = "/admin/audit?" + q.Encode()
	}
	p.renderAdmin(w, r, status, "audit", "Audit log", "audit", v)
}

// adminAuditRecord shows one record in full: who, through which face, in
// which tenant and mode, the input as stored (secrets redacted before it
// was written), the verdict, and the result or error.
func (p *Pages) adminAuditRecord(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		p.notFound(w, r)
		return
	}
	var list tools.AuditList
	if err := p.call(r, s.actor, tools.ToolQueryAudit, map[string]any{"before": id + 1, "limit": 1}, &list); err != nil {
		p.fail(w, r, err)
		return
	}
	if len(list.Records) == 0 || list.Records[0].ID != id {
		p.notFound(w, r)
		return
	}
	p.renderAdmin(w, r, http.StatusOK, "auditrecord", "Audit record "+strconv.FormatInt(id, 10), "audit", list.Records[0])
}

// auditExportMax bounds an export: more than that is narrowed by the
// filters first.
const auditExportMax = 10_000

// auditColumns are the export's header.
var auditColumns = []string{"id", "at", "actor_kind", "actor_id", "actor_role", "face", "tenant", "mode", "tool", "verdict",
	"error", "duration_ms", "request_id", "approval_id", "approved_by", "input", "result"}

// adminAuditCSV exports the records the filters select, newest first, as
// CSV: up to auditExportMax, read a thousand at a time.
func (p *Pages) adminAuditCSV(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f, in := auditQuery(r)
	if len(f.Errors) > 0 || f.Error != "" {
		p.badRequest(w, r, "The filters cannot be read: "+strings.Join(fieldErrors(f), "; ")+".")
		return
	}
	var recs []audit.Record
	for len(recs) < auditExportMax {
		in["limit"] = min(1000, auditExportMax-len(recs))
		var list tools.AuditList
		if err := p.call(r, s.actor, tools.ToolQueryAudit, in, &list); err != nil {
			p.fail(w, r, err)
			return
		}
		recs = append(recs, list.Records...)
		if list.Next == 0 {
			break
		}
		in["before"] = list.Next
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+p.d.Now().UTC().Format("20060102-150405")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(auditColumns)
	for _, rec := range recs {
		_ = cw.Write([]string{strconv.FormatInt(rec.ID, 10), rec.At.UTC().Format(time.RFC3339Nano), string(rec.Actor.Kind),
			cell(rec.Actor.ID), string(rec.Actor.Role), string(rec.Face), cell(rec.TenantID), string(rec.Mode), cell(rec.Action),
			rec.Verdict, cell(rec.Error), strconv.FormatFloat(float64(rec.Duration.Microseconds())/1000, 'f', 3, 64),
			cell(rec.RequestID), cell(rec.ApprovalID), cell(rec.ApprovedBy), cell(string(rec.Input)), cell(string(rec.Result))})
	}
	cw.Flush()
}

// cell keeps a text a spreadsheet would take for a formula as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// fieldErrors lists a form's problems, field by field.
func fieldErrors(f form) []string {
	var out []string
	for _, k := range auditFields {
		if m := f.Errors[k]; m != "" {
			out = append(out, k+": "+m)
		}
	}
	if f.Error != "" {
		out = append(out, f.Error)
	}
	return out
}
