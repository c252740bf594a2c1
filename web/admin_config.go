package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// configView is the configuration page's data: the search as entered,
// the sections to filter by, the parameters that match, and how many
// values the last import applied.
type configView struct {
	Form       form
	Sections   []string
	Parameters []params.Item
	Total      int
	Imported   string
}

// section is what the configuration page files a parameter under: its
// declared group, else its key's first word (billing, market…).
func section(it params.Item) string {
	if it.Group != "" {
		return it.Group
	}
	head, _, _ := strings.Cut(it.Key, ".")
	return head
}

// adminConfig lists every parameter of the catalogue (R15) with its
// description, type, the modes it affects, its value and where that value
// comes from, searched by words of its key or description and filtered by
// section.
func (p *Pages) adminConfig(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	v := configView{Form: newForm(r, "q", "section"), Imported: r.URL.Query().Get("imported")}
	var list tools.ParamList
	if err := p.call(r, s.actor, tools.ToolListParameters, tools.ListParamsInput{}, &list); err != nil {
		p.fail(w, r, err)
		return
	}
	sections := map[string]bool{}
	q, want := strings.ToLower(v.Form.Values["q"]), v.Form.Values["section"]
	for _, it := range list.Parameters {
		sec := section(it)
		sections[sec] = true
		if want != "" && sec != want {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(it.Key+" "+it.Description), q) {
			continue
		}
		v.Parameters = append(v.Parameters, it)
	}
	for sec := range sections {
		v.Sections = append(v.Sections, sec)
	}
	sort.Strings(v.Sections)
	v.Total = len(list.Parameters)
	p.renderAdmin(w, r, http.StatusOK, "config", "Configuration", "config", v)
}

// parameterView is one parameter's page: the parameter, its edit form as
// entered, the choices of scope, the phrase a LIVE change asks to be
// typed, the removal of a stored value waiting for its phrase, and the
// parameter's history.
type parameterView struct {
	Item    params.Item
	Form    form
	Tenants []option
	Modes   []option
	// Confirm is the phrase the server asked for before saving.
	Confirm string
	// Remove is the stored value whose removal waits for its phrase, or
	// was refused.
	Remove  *removal
	History []params.Change
	// Done says what the last action did (saved, removed).
	Done string
}

// removal is a refused or unconfirmed removal of the value stored at a
// scope.
type removal struct {
	Scope   params.Scope
	Confirm string
	Error   string
}

// Secret says the parameter is a secret: entered write-only, never shown.
func (v parameterView) Secret() bool { return v.Item.Type == params.TypeSecret }

// adminParameter shows one parameter with its edit form, its stored
// values and its history; the form starts at the scope the value a
// reader sees comes from.
func (p *Pages) adminParameter(w http.ResponseWriter, r *http.Request) {
	v := parameterView{Form: form{Values: map[string]string{}, Errors: map[string]string{}}}
	switch {
	case r.URL.Query().Has("saved"):
		v.Done = "Saved. Every instance reads the new value within a second."
	case r.URL.Query().Has("removed"):
		v.Done = "Removed. Readers fall back to the next scope, or the default."
	}
	p.showParameter(w, r, http.StatusOK, v)
}

func (p *Pages) showParameter(w http.ResponseWriter, r *http.Request, status int, v parameterView) {
	s, _ := user(r)
	key := chi.URLParam(r, "key")
	if err := p.call(r, s.actor, tools.ToolGetParameter, tools.GetParamInput{Key: key}, &v.Item); err != nil {
		// An unknown key is a page that is not there.
		if badInput(err) {
			p.notFound(w, r)
			return
		}
		p.fail(w, r, err)
		return
	}
	it := v.Item
	if _, entered := v.Form.Values["tenant"]; !entered {
		if !it.Source.Default {
			v.Form.Values["tenant"], v.Form.Values["mode"] = it.Source.Scope.TenantID, string(it.Source.Scope.Mode)
		}
		if !v.Secret() {
			v.Form.Values["value"] = it.Value
		}
	}
	v.Tenants = []option{{Value: "", Label: "Every tenant (global)"}}
	if !it.GlobalOnly {
		v.Tenants = append(v.Tenants, option{Value: s.actor.TenantID, Label: "Tenant " + s.actor.TenantID})
	}
	v.Modes = []option{{Value: "", Label: "Both modes"}}
	for _, m := range it.Affects {
		v.Modes = append(v.Modes, option{Value: string(m), Label: string(m) + " only"})
	}
	var h tools.HistoryList
	if err := p.call(r, s.actor, tools.ToolParameterHistory, tools.HistoryInput{Key: key, Limit: 50}, &h); err != nil {
		p.fail(w, r, err)
		return
	}
	v.History = h.Changes
	p.renderAdmin(w, r, status, "parameter", it.Key, "config", v)
}

// confirmationAsked answers the phrase a refusal asks to be typed before
// the call goes ahead: the domain's (a value LIVE mode reads) or the
// policies' (any change to a LIVE tenant).
func confirmationAsked(err error) (string, bool) {
	if fe, ok := fault.As(err); ok && fe.Kind == fault.KindNeedsConfirmation {
		return fe.Confirm, true
	}
	var ref *tools.Refusal
	if errors.As(err, &ref) && ref.Verdict.Decision == policies.NeedsConfirmation {
		return ref.Verdict.Confirm, true
	}
	return "", false
}

// paramFields are where the parameter page puts a problem set_parameter
// or delete_parameter names: the value's problems carry the key.
func paramFields(key string) map[string]string {
	return map[string]string{key: "value", "scope.tenant": "tenant", "scope.mode": "mode", "tenant": "tenant", "mode": "mode"}
}

// refuseAt puts err's problems beside the fields they name, renamed by
// fields.
func (f *form) refuseAt(err error, fields map[string]string) {
	fe, ok := fault.As(err)
	if !ok || len(fe.Problems) == 0 {
		f.refuse(err)
		return
	}
	cp := *fe
	cp.Problems = make([]fault.Problem, len(fe.Problems))
	for i, pr := range fe.Problems {
		if to, ok := fields[pr.Field]; ok {
			pr.Field = to
		}
		cp.Problems[i] = pr
	}
	f.refuse(&cp)
}

// adminSetParameter saves a parameter's value at the scope chosen. The
// tool validates it: a refusal is shown beside its field and nothing is
// saved. A value LIVE mode reads needs the phrase the tool asks for typed
// into the form, and nothing is saved without it (R15.7).
func (p *Pages) adminSetParameter(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	key := chi.URLParam(r, "key")
	f := newForm(r, "value", "tenant", "mode", "confirm")
	in := tools.SetParamInput{Control: tools.Control{Confirm: f.Values["confirm"]},
		ParamScope: tools.ParamScope{Tenant: f.Values["tenant"], Mode: mode.Mode(f.Values["mode"])}, Key: key, Value: f.Values["value"]}
	var out params.Change
	err := p.call(r, s.actor, tools.ToolSetParameter, in, &out)
	if err == nil {
		http.Redirect(w, r, "/admin/config/"+url.PathEscape(key)+"?saved=1#history", http.StatusSeeOther)
		return
	}
	v := parameterView{Form: f}
	status := refusalStatus(err)
	if phrase, ok := confirmationAsked(err); ok {
		v.Confirm, status = phrase, http.StatusConflict
		if f.Values["confirm"] != "" {
			f.Errors["confirm"] = fmt.Sprintf("That is not %s: type it exactly to confirm.", phrase)
		}
	} else if refusedHere(err) {
		f.refuseAt(err, paramFields(key))
	} else {
		p.fail(w, r, err)
		return
	}
	// A confirmation is asked for the value entered; a new try asks
	// anew.
	f.Values["confirm"] = ""
	p.showParameter(w, r, status, v)
}

// adminRemoveParameter removes the value stored at one scope, so readers
// fall back to the next scope or the default; a removal LIVE mode reads
// asks for its phrase as a change does.
func (p *Pages) adminRemoveParameter(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	key := chi.URLParam(r, "key")
	f := newForm(r, "tenant", "mode", "confirm")
	sc := tools.ParamScope{Tenant: f.Values["tenant"], Mode: mode.Mode(f.Values["mode"])}
	var out params.Change
	err := p.call(r, s.actor, tools.ToolDeleteParameter, tools.DeleteParamInput{Control: tools.Control{Confirm: f.Values["confirm"]}, ParamScope: sc, Key: key}, &out)
	if err == nil {
		http.Redirect(w, r, "/admin/config/"+url.PathEscape(key)+"?removed=1#history", http.StatusSeeOther)
		return
	}
	rm := &removal{Scope: params.Scope{TenantID: sc.Tenant, Mode: sc.Mode}}
	status := refusalStatus(err)
	phrase, asked := confirmationAsked(err)
	switch {
	case asked:
		rm.Confirm, status = phrase, http.StatusConflict
		if f.Values["confirm"] != "" {
			rm.Error = fmt.Sprintf("That is not %s: type it exactly to confirm.", phrase)
		}
	case fault.KindOf(err) == fault.KindNotFound:
		rm.Error, status = "Nothing is stored there any more.", http.StatusNotFound
	case refusedHere(err):
		rm.Error = refusalText(err)
	default:
		p.fail(w, r, err)
		return
	}
	p.showParameter(w, r, status, parameterView{Form: form{Values: map[string]string{}, Errors: map[string]string{}}, Remove: rm})
}

// adminExportConfig downloads every stored value as the export file
// (R15.4); secrets are in it only sealed under this installation's key.
func (p *Pages) adminExportConfig(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	var f params.File
	if err := p.call(r, s.actor, tools.ToolExportParameters, tools.ExportInput{}, &f); err != nil {
		p.fail(w, r, err)
		return
	}
	b, err := f.Encode()
	if err != nil {
		p.fail(w, r, err)
		return
	}
	name := "gpubroker-params-" + f.ExportedAt.UTC().Format("20060102-150405") + ".json"
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// importView is the import's preview: the file carried to the apply
// step, what it would change or everything wrong with it, and the phrase
// applying it asks for.
type importView struct {
	Name     string
	Content  string
	Preview  *tools.Preview
	Problems []fault.Problem
	Error    string
	Confirm  string
	// ConfirmError says the phrase typed was not the one asked for.
	ConfirmError string
}

// importLimit bounds an import's request: the file, or the file carried
// back from the preview, and the form's fields.
const importLimit = params.MaxFileSize + 64<<10

// adminImportConfig previews an uploaded export file (a dry run that
// validates every entry and lists each change) and, from the preview,
// applies it all or nothing (R15.4). A file with problems shows each of
// them and applies nothing.
func (p *Pages) adminImportConfig(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, importLimit)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p.badRequest(w, r, fmt.Sprintf("The file is too large: an export file holds at most %d MB.", params.MaxFileSize>>20))
			return
		}
		p.badRequest(w, r, "The upload could not be read; choose the file again.")
		return
	}
	s, _ := user(r)
	v := importView{Content: r.PostFormValue("content"), Name: r.PostFormValue("name")}
	if file, hdr, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(file, params.MaxFileSize+1))
		_ = file.Close()
		if err != nil {
			p.badRequest(w, r, "The upload could not be read; choose the file again.")
			return
		}
		v.Content, v.Name = string(b), hdr.Filename
	}
	switch {
	case strings.TrimSpace(v.Content) == "":
		v.Error = "Choose an export file to import."
		p.renderAdmin(w, r, http.StatusUnprocessableEntity, "config_import", "Import parameters", "config", v)
		return
	case !json.Valid([]byte(v.Content)):
		v.Error = "The file is not JSON: " + jsonProblem([]byte(v.Content)) + ". Choose a file exported from this console."
		p.renderAdmin(w, r, http.StatusUnprocessableEntity, "config_import", "Import parameters", "config", v)
		return
	}
	apply := r.PostFormValue("apply") != ""
	confirm := strings.TrimSpace(r.PostFormValue("confirm"))
	status := http.StatusOK
	if apply {
		var res params.ImportResult
		err := p.call(r, s.actor, tools.ToolImportParameters, tools.ImportInput{Control: tools.Control{Confirm: confirm}, File: json.RawMessage(v.Content)}, &res)
		if err == nil {
			http.Redirect(w, r, "/admin/config?imported="+strconv.Itoa(res.Applied), http.StatusSeeOther)
			return
		}
		phrase, asked := confirmationAsked(err)
		if !asked {
			if p.importRefused(w, r, err, &v) {
				p.renderAdmin(w, r, refusalStatus(err), "config_import", "Import parameters", "config", v)
			}
			return
		}
		// The preview below is shown again beside the phrase asked for.
		v.Confirm, status = phrase, http.StatusConflict
		if confirm != "" {
			v.ConfirmError = fmt.Sprintf("That is not %s: type it exactly to confirm.", phrase)
		}
	}
	var pv tools.Preview
	err := p.call(r, s.actor, tools.ToolImportParameters, tools.ImportInput{Control: tools.Control{DryRun: true}, File: json.RawMessage(v.Content)}, &pv)
	if err != nil {
		if !p.importRefused(w, r, err, &v) {
			return
		}
		status = refusalStatus(err)
	} else {
		v.Preview = &pv
	}
	p.renderAdmin(w, r, status, "config_import", "Import parameters", "config", v)
}

// importRefused puts a refused import's problems into v, or answers the
// error page and false when it is not a refusal.
func (p *Pages) importRefused(w http.ResponseWriter, r *http.Request, err error, v *importView) bool {
	if !refusedHere(err) {
		p.fail(w, r, err)
		return false
	}
	if fe, ok := fault.As(err); ok && len(fe.Problems) > 0 {
		v.Problems = fe.Problems
		for i := range v.Problems {
			v.Problems[i].Message = ruleName.ReplaceAllString(v.Problems[i].Message, "")
		}
		v.Error = fe.Message
		return true
	}
	v.Error = refusalText(err)
	return true
}

// jsonProblem says where a document stops being JSON.
func jsonProblem(b []byte) string {
	var x any
	err := json.Unmarshal(b, &x)
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return "it ends too early"
	}
	line, col := 1, 1
	for _, c := range b[:min(int(syn.Offset), len(b))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%v at line %d, column %d", syn, line, col)
}

// RemoveAt is the removal waiting at sc, if any.
func (v parameterView) RemoveAt(sc params.Scope) *removal {
	if v.Remove != nil && v.Remove.Scope == sc {
		return v.Remove
	}
	return nil
}
