package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/tools"
)

// podFields are the configure form's fields, named as configure_pod
// names its input.
var (
	podFields = []string{"name", "gpu", "gpu_count", "provider", "offer_id", "region", "vcpu", "ram_gib", "disk_gib", "image", "pricing",
		"ssh_public_key"}
	podInts = []string{"gpu_count", "vcpu", "ram_gib", "disk_gib"}
)

// formInput is a tool's input from a form: each field entered, the
// integers and decimals among them parsed, and a number that is not one
// refused beside its field. Every other rule is the tool's.
func formInput(f *form, fields, ints, decimals []string) map[string]any {
	in := map[string]any{}
	for _, k := range fields {
		val := f.Values[k]
		if val == "" {
			continue
		}
		switch {
		case slices.Contains(ints, k):
			n, err := strconv.Atoi(val)
			if err != nil {
				f.Errors[k] = "want a whole number"
				continue
			}
			in[k] = n
		case slices.Contains(decimals, k):
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				f.Errors[k] = "want an amount in USD, like 2.50"
				continue
			}
			in[k] = x
		default:
			in[k] = val
		}
	}
	return in
}

// refusedHere reports whether err is the caller's to read on the page
// (what was entered, a rule of their plan, a change that crossed
// another), not a failure of the page.
func refusedHere(err error) bool {
	var ref *tools.Refusal
	switch fault.KindOf(err) {
	case fault.KindInvalid, fault.KindMalformed, fault.KindForbidden, fault.KindConflict, fault.KindGone, fault.KindUnauthenticated:
		return true
	}
	return errors.As(err, &ref)
}

// configureView is the configure page's data.
type configureView struct {
	Form form
	// DraftID and Revision name the draft being changed, if any.
	DraftID  string
	Revision int64
	GPUs     []string
	// Providers are auto, then every provider.
	Providers []option
	Images    []pods.Image
	// Offer is the offer the configuration started from, if any.
	Offer *tools.OfferDetail
	// Estimate prices the configuration as it stands; nil when it does
	// not hold.
	Estimate *tools.EstimateOutput
}

func (p *Pages) newConfigureView() configureView {
	v := configureView{GPUs: providers.GPUNames(), Images: pods.Images, Providers: []option{{pods.Auto, "Auto (best value)"}}}
	for _, pr := range providers.Supported {
		v.Providers = append(v.Providers, option{pr.ID, pr.Name})
	}
	return v
}

// configValues are the form's values of a configuration.
func configValues(c pods.Config) map[string]string {
	return map[string]string{"name": c.Name, "gpu": c.GPU, "gpu_count": strconv.Itoa(c.GPUCount), "provider": c.Provider, "offer_id": c.OfferID,
		"region": c.Region, "vcpu": strconv.Itoa(c.VCPU), "ram_gib": strconv.Itoa(c.RAMGiB), "disk_gib": strconv.Itoa(c.DiskGiB), "image": c.Image,
		"pricing": string(c.Pricing), "ssh_public_key": c.SSHPublicKey}
}

// podName suggests a pod's name from its GPU: "h100-sxm-80gb".
func podName(gpu string) string {
	n := strings.ToLower(gpu)
	if !strings.HasPrefix(n, providers.Unknown) && n != "" && n[0] >= 'a' && n[0] <= 'z' {
		return n
	}
	return "my-pod"
}

// configure shows the configure page (R11): a new configuration, one
// started from an offer (?offer=), or a draft to change (?draft=), priced
// as it stands.
func (p *Pages) configure(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	v := p.newConfigureView()
	cfg := pods.Config{GPU: "L4-PCIE-24GB", GPUCount: 1, Provider: pods.Auto, VCPU: 8, RAMGiB: 32, DiskGiB: 100, Image: pods.Images[0].ID,
		Pricing: pods.OnDemand}
	switch {
	case r.FormValue("draft") != "":
		var pod pods.Pod
		if err := p.call(r, s.actor, tools.ToolGetPod, tools.PodRef{ID: r.FormValue("draft")}, &pod); err != nil {
			p.fail(w, r, err)
			return
		}
		if pod.State != pods.Draft {
			http.Redirect(w, r, "/pods/"+pod.ID, http.StatusSeeOther)
			return
		}
		cfg, v.DraftID, v.Revision = pod.Config, pod.ID, pod.Revision
	case r.FormValue("offer") != "":
		var o tools.OfferDetail
		if err := p.call(r, s.actor, tools.ToolGetOffer, tools.OfferInput{ID: r.FormValue("offer")}, &o); err != nil {
			p.fail(w, r, err)
			return
		}
		v.Offer = &o
		cfg = pods.Config{GPU: o.GPU, GPUCount: o.GPUCount, Provider: o.Provider, OfferID: o.ID, Region: o.Region, VCPU: o.VCPU,
			RAMGiB: int(o.RAMGB), DiskGiB: max(o.DiskGB, 100), Image: pods.Images[0].ID, Pricing: pods.OnDemand}
	}
	if cfg.Name == "" {
		cfg.Name = podName(cfg.GPU)
	}
	v.Form = form{Values: configValues(cfg), Errors: map[string]string{}}
	var est tools.EstimateOutput
	if err := p.call(r, s.actor, tools.ToolEstimatePod, formInput(&v.Form, podFields, podInts, nil), &est); err != nil {
		if !refusedHere(err) {
			p.fail(w, r, err)
			return
		}
		v.Form.refuse(err)
	} else {
		v.Estimate = &est
	}
	p.render(w, r, http.StatusOK, "configure", view{Title: "Configure a pod", Nav: "browse", Data: v})
}

// saveDraft saves the configuration as a draft, new or changed, then
// shows the pod to deploy; what the tool refuses is shown beside its
// field and nothing is saved.
func (p *Pages) saveDraft(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	v := p.newConfigureView()
	v.Form = newForm(r, podFields...)
	in := formInput(&v.Form, podFields, podInts, nil)
	if v.DraftID = r.PostFormValue("id"); v.DraftID != "" {
		v.Revision, _ = strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
		in["id"], in["revision"] = v.DraftID, v.Revision
	}
	if len(v.Form.Errors) == 0 {
		var q tools.PodQuote
		err := p.call(r, s.actor, tools.ToolConfigurePod, in, &q)
		if err == nil {
			http.Redirect(w, r, "/pods/"+q.Pod.ID, http.StatusSeeOther)
			return
		}
		if !refusedHere(err) {
			p.fail(w, r, err)
			return
		}
		v.Form.refuse(err)
	}
	p.render(w, r, http.StatusUnprocessableEntity, "configure", view{Title: "Configure a pod", Nav: "browse", Data: v})
}

// estimateAnswer is the configure page's live estimate: the tool's
// answer with its amounts as people read them, or what is wrong.
type estimateAnswer struct {
	*tools.EstimateOutput
	Shown  map[string]string `json:"shown,omitempty"`
	Error  string            `json:"error,omitempty"`
	Errors map[string]string `json:"errors,omitempty"`
}

// estimate answers the configure form's estimate as JSON, for the page
// to update as the person changes the form.
func (p *Pages) estimate(w http.ResponseWriter, r *http.Request) {
	s, ok := user(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, estimateAnswer{Error: "sign in first"})
		return
	}
	f := newForm(r, podFields...)
	in := formInput(&f, podFields, podInts, nil)
	if len(f.Errors) > 0 {
		writeJSON(w, http.StatusBadRequest, estimateAnswer{Errors: f.Errors})
		return
	}
	var est tools.EstimateOutput
	if err := p.call(r, s.actor, tools.ToolEstimatePod, in, &est); err != nil {
		if !refusedHere(err) {
			p.d.Log.ErrorContext(r.Context(), "estimate failed", "err", err)
			writeJSON(w, http.StatusInternalServerError, estimateAnswer{Error: "the estimate failed; try again in a moment"})
			return
		}
		f.refuse(err)
		writeJSON(w, http.StatusBadRequest, estimateAnswer{Error: f.Error, Errors: f.Errors})
		return
	}
	e := est.Estimate
	writeJSON(w, http.StatusOK, estimateAnswer{EstimateOutput: &est, Shown: map[string]string{"hour": e.Hour.String(), "day": e.Day.String(),
		"month": e.Month.String(), "provider_hour": e.ProviderHour.String(), "markup_hour": e.MarkupHour.String(),
		"storage_hour": e.StorageHour.String(), "provider": providers.Name(est.Offer.Provider)}})
}

// step is one stage of a pod's way to running, as the pod page shows it.
type step struct {
	State pods.State
	Label string
	Done  bool
	Now   bool
}

// podView is the pod page's data.
type podView struct {
	Pod pods.Pod
	// Quote re-prices a draft against the offers of now.
	Quote  *tools.QuoteOutput
	Events []pods.Transition
	Steps  []step
	// Error says why the last action was refused.
	Error string
}

// stages are the steps a deployed pod goes through to be used.
var stages = []step{{State: pods.Pending, Label: "Pending"}, {State: pods.Provisioning, Label: "Provisioning"},
	{State: pods.Ready, Label: "Ready"}, {State: pods.Running, Label: "Running"}}

// podPage shows one pod of the signed-in person (another's is not
// found): its configuration and cost, its state live, and what can be
// done with it now.
func (p *Pages) podPage(w http.ResponseWriter, r *http.Request) {
	p.showPod(w, r, http.StatusOK, "")
}

func (p *Pages) showPod(w http.ResponseWriter, r *http.Request, status int, refusal string) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	v := podView{Error: refusal}
	ref := tools.PodRef{ID: chi.URLParam(r, "id")}
	if err := p.call(r, s.actor, tools.ToolGetPod, ref, &v.Pod); err != nil {
		p.fail(w, r, err)
		return
	}
	var hist tools.PodHistory
	if err := p.call(r, s.actor, tools.ToolPodEvents, ref, &hist); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Events = hist.Events
	slices.Reverse(v.Events)
	if len(v.Events) > 10 {
		v.Events = v.Events[:10]
	}
	if v.Pod.State == pods.Draft {
		var q tools.QuoteOutput
		if err := p.call(r, s.actor, tools.ToolQuotePod, ref, &q); err == nil {
			v.Quote = &q
		}
	}
	v.Steps = slices.Clone(stages)
	reached := slices.IndexFunc(v.Steps, func(st step) bool { return st.State == v.Pod.State })
	for i := range v.Steps {
		v.Steps[i].Done = i < reached || (reached < 0 && v.Pod.State == pods.Stopped)
		v.Steps[i].Now = i == reached
	}
	p.render(w, r, status, "pod", view{Title: v.Pod.Name, Nav: "dashboard", Data: v})
}

// podAction runs one tool on the pod of the URL from a form, then goes
// back to where the form was (the pod, or the dashboard); a refusal is
// shown on the pod's page.
func (p *Pages) podAction(tool string, extra func(r *http.Request, in map[string]any) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := p.signedInOr(w, r)
		if !ok {
			return
		}
		id := chi.URLParam(r, "id")
		in := map[string]any{"id": id}
		var err error
		if extra != nil {
			err = extra(r, in)
		}
		if err == nil {
			var out json.RawMessage
			err = p.call(r, s.actor, tool, in, &out)
		}
		if err == nil {
			http.Redirect(w, r, back(r, "/pods/"+url.PathEscape(id)), http.StatusSeeOther)
			return
		}
		if !refusedHere(err) {
			p.fail(w, r, err)
			return
		}
		p.showPod(w, r, refusalStatus(err), refusalText(err))
	}
}

// refusalText says in a sentence why a call was refused.
func refusalText(err error) string {
	var ref *tools.Refusal
	if errors.As(err, &ref) && ref.Approval != nil {
		return "This waits for an admin's approval (" + ref.Verdict.Reason + "); the pod moves once it is approved."
	}
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err.Error()
	}
	return problems(fe)
}

// kindStatus is the status of a page refused by a tool's fault, as the
// REST face answers the same fault.
var kindStatus = map[fault.Kind]int{
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

// refusalStatus is the page's status for a refused action: a call held
// for approval is accepted, one the policies refused forbidden, a fault
// as kindStatus says.
func refusalStatus(err error) int {
	var ref *tools.Refusal
	switch {
	case errors.As(err, &ref) && ref.Approval != nil:
		return http.StatusAccepted
	case errors.As(err, &ref):
		return http.StatusForbidden
	}
	if st, ok := kindStatus[fault.KindOf(err)]; ok {
		return st
	}
	return http.StatusUnprocessableEntity
}

// back is where a form goes after its action: the local path it names in
// "back", or def.
func back(r *http.Request, def string) string {
	return localPath(r.PostFormValue("back"), def)
}

// scaleInput reads the scale form's GPU count.
func scaleInput(r *http.Request, in map[string]any) error {
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("gpu_count")))
	if err != nil {
		return fault.Invalid("gpu_count", "want a whole number")
	}
	in["gpu_count"] = n
	return nil
}

// activateForm is the page a pod's activation link opens: a button that
// activates it, so a link scanner opening the mail does not.
func (p *Pages) activateForm(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	var pod pods.Pod
	if err := p.call(r, s.actor, tools.ToolGetPod, tools.PodRef{ID: chi.URLParam(r, "id")}, &pod); err != nil {
		p.fail(w, r, err)
		return
	}
	if pod.State == pods.Running {
		http.Redirect(w, r, "/pods/"+pod.ID, http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "activate", view{Title: "Activate " + pod.Name, Nav: "dashboard",
		Data: activateView{Pod: pod, Token: r.FormValue("token")}})
}

// activateView is the activation page's data.
type activateView struct {
	Pod   pods.Pod
	Token string
}

// activateInput reads the activation token.
func activateInput(r *http.Request, in map[string]any) error {
	in["token"] = r.PostFormValue("token")
	return nil
}
