package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/pquerna/otp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/tools"
)

// mountAdmin routes the console of POD Admins under /admin. Anyone else
// is answered not found, as if there were no console.
func (p *Pages) mountAdmin(r chi.Router) {
	r.Use(p.adminOnly)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/agent", http.StatusSeeOther)
	})
	r.Get("/mfa", p.adminMFA)
	r.Post("/mfa", p.adminMFAConfirm)
	r.Get("/agent", p.adminAgent)
	r.Post("/agent/start", p.adminAgentStart)
	r.Post("/agent/stop", p.adminAgentStop)
	r.Post("/agent/budget", p.adminAgentBudget)
	r.Post("/agent/messages", p.adminAgentMessage)
	if p.d.AgentStream != nil {
		r.Get("/agent/stream", p.d.AgentStream.ServeHTTP)
	}
	r.Get("/fleet", p.adminFleet)
	r.Get("/decisions", p.adminDecisions)
	r.Get("/decisions/{id}", p.adminDecision)
	r.Post("/decisions/{id}/{action}", p.adminDecide)
	r.Get("/config", p.adminConfig)
	r.Get("/config/export", p.adminExportConfig)
	r.Post("/config/import", p.adminImportConfig)
	r.Get("/config/{key}", p.adminParameter)
	r.Post("/config/{key}", p.adminSetParameter)
	r.Post("/config/{key}/remove", p.adminRemoveParameter)
	r.Get("/tenant", p.adminTenant)
	r.Post("/tenant/mode", p.adminSwitchMode)
	r.Get("/audit", p.adminAudit)
	r.Get("/audit.csv", p.adminAuditCSV)
	r.Get("/audit/{id}", p.adminAuditRecord)
	r.Get("/users", p.adminUsers)
	r.Post("/users/slack", p.adminSetSlack)
	r.Post("/users/{id}/role", p.adminSetRole)
	r.Post("/tokens", p.adminCreateToken)
	r.Post("/tokens/{id}/revoke", p.adminRevokeToken)
	r.Get("/health", p.adminHealth)
}

// adminOnly lets only a signed-in POD Admin through, with their actor in
// the request's context; while auth.mfa_required_for_admins holds, an
// admin who signed in without a second factor is sent to enrol first.
func (p *Pages) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := user(r)
		if !ok || s.actor.Role != actor.RolePodAdmin {
			p.notFound(w, r)
			return
		}
		if p.d.AdminMFA != nil && p.d.AdminMFA() && !s.actor.MFA && r.URL.Path != "/admin/mfa" {
			http.Redirect(w, r, "/admin/mfa", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(actor.With(r.Context(), s.actor)))
	})
}

// adminView is what every console page's layout reads beside its own
// data: the section the console's navigation marks.
type adminView struct {
	Section string
	Data    any
}

// renderAdmin writes a console page.
func (p *Pages) renderAdmin(w http.ResponseWriter, r *http.Request, status int, page, title, section string, data any) {
	p.render(w, r, status, "admin/"+page, view{Title: title, Nav: "admin", Data: adminView{Section: section, Data: data}})
}

// mfaView is the MFA enrolment page's data.
type mfaView struct {
	Enrolment tools.MFAEnrolment
	// QR is the otpauth URL drawn as a PNG data URL (ours, so trusted
	// as an image source).
	QR    template.URL
	Form  form
	Done  bool
	Error string
}

// adminMFA starts the admin's TOTP enrolment: the secret, and its QR
// code for an authenticator app.
func (p *Pages) adminMFA(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	v := mfaView{Form: form{Values: map[string]string{}, Errors: map[string]string{}}}
	if s.actor.MFA {
		v.Done = true
		p.renderAdmin(w, r, http.StatusOK, "mfa", "Two-factor sign-in", "mfa", v)
		return
	}
	if err := p.call(r, s.actor, tools.ToolEnrollMFA, struct{}{}, &v.Enrolment); err != nil {
		p.fail(w, r, err)
		return
	}
	qr, err := qrCode(v.Enrolment.OTPAuthURL)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.QR = qr
	p.renderAdmin(w, r, http.StatusOK, "mfa", "Two-factor sign-in", "mfa", v)
}

// adminMFAConfirm turns MFA on with a code of the enrolled app; the
// admin then signs in again with a code.
func (p *Pages) adminMFAConfirm(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, "code")
	var state tools.MFAState
	if err := p.call(r, s.actor, tools.ToolConfirmMFA, tools.MFACodeInput{Code: f.Values["code"]}, &state); err != nil {
		if !refusedHere(err) {
			p.fail(w, r, err)
			return
		}
		f.refuse(err)
		if f.Error != "" && f.Errors["code"] == "" {
			f.Errors["code"], f.Error = f.Error, ""
		}
		v := mfaView{Form: f}
		if err := p.call(r, s.actor, tools.ToolEnrollMFA, struct{}{}, &v.Enrolment); err == nil {
			v.QR, _ = qrCode(v.Enrolment.OTPAuthURL)
		}
		p.renderAdmin(w, r, http.StatusUnprocessableEntity, "mfa", "Two-factor sign-in", "mfa", v)
		return
	}
	// The session's tokens say the admin signed in without a second
	// factor: a new sign-in with a code gives ones that say otherwise.
	p.end(w, r, s)
	http.Redirect(w, r, "/signin?next=/admin", http.StatusSeeOther)
}

// qrCode draws an otpauth URL as a PNG data URL.
func qrCode(url string) (template.URL, error) {
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}
