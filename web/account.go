package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tools"
)

// form is a form's values as entered and what is wrong with them: a
// message beside each field, and one for the whole form.
type form struct {
	Values map[string]string
	Errors map[string]string
	Error  string
	// Code asks for the second factor (sign-in with MFA).
	Code bool
}

func newForm(r *http.Request, fields ...string) form {
	f := form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(r.FormValue(k))
	}
	return f
}

// ruleName is the machine name of a rule leading a problem's message.
var ruleName = regexp.MustCompile(`^[a-z]+(_[a-z]+)*: `)

// refuse puts err beside the fields it names, or over the form; the
// messages are the tools', the same the REST face gives.
func (f *form) refuse(err error) {
	var fe *fault.Error
	if errors.As(err, &fe) && len(fe.Problems) > 0 {
		for _, pr := range fe.Problems {
			// A rule's machine name leads some messages
			// ("min_length: must be…"): people read the rest.
			msg := ruleName.ReplaceAllString(pr.Message, "")
			if _, known := f.Values[pr.Field]; known {
				if f.Errors[pr.Field] != "" {
					msg = f.Errors[pr.Field] + "; " + msg
				}
				f.Errors[pr.Field] = msg
				continue
			}
			f.Error = msg
		}
		if f.Error == "" && len(f.Errors) == 0 {
			f.Error = fe.Message
		}
		return
	}
	f.Error = err.Error()
}

// badInput reports whether err refuses what was entered (the form's to
// show), not the page.
func badInput(err error) bool {
	k := fault.KindOf(err)
	return k == fault.KindInvalid || k == fault.KindMalformed
}

// next is where to go after signing in: a path of ours, or the
// dashboard.
func next(r *http.Request) string {
	return localPath(r.FormValue("next"), "/dashboard")
}

// localPath is raw when it is a path on this origin, or def: a form's
// "go here next" never leads to another site.
func localPath(raw, def string) string {
	if u, err := url.Parse(raw); err == nil && strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") && u.Host == "" {
		return raw
	}
	return def
}

// account pages' data: the form and where to go next.
type accountView struct {
	Form     form
	Next     string
	Plan     string
	Interval string
	// OAuth are the providers to sign in with, when set up.
	OAuth []option
}

// oauthNames are what people call the sign-in providers.
var oauthNames = map[string]string{auth.ProviderGoogle: "Google", auth.ProviderGitHub: "GitHub"}

// oauth lists the sign-in providers set up now.
func (p *Pages) oauth() []option {
	var out []option
	for _, id := range p.d.Identity.OAuthProviders() {
		out = append(out, option{id, oauthNames[id]})
	}
	return out
}

// FinishOAuth ends a sign-in with a provider begun from these pages: a
// session and the dashboard, or the sign-in page saying what went wrong.
func (p *Pages) FinishOAuth(w http.ResponseWriter, r *http.Request, t auth.Tokens, err error) {
	if err == nil {
		err = p.start(w, r, t)
	}
	if err == nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	switch fault.KindOf(err) {
	case fault.KindForbidden, fault.KindMalformed, fault.KindInvalid, fault.KindRateLimited, fault.KindUnavailable, fault.KindUnauthenticated:
	default:
		p.fail(w, r, err)
		return
	}
	status := refusalStatus(err)
	f := form{Values: map[string]string{}, Errors: map[string]string{}}
	f.Error = "Signing in with the provider did not work: " + err.Error()
	p.render(w, r, status, "signin", view{Title: "Sign in", Nav: "signin", Data: accountView{Form: f, Next: "/dashboard", OAuth: p.oauth()}})
}

func (p *Pages) signinForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Nav: "signin",
		Data: accountView{Form: newForm(r, "email"), Next: next(r), OAuth: p.oauth()}})
}

// signin signs a person in with email and password (and the code of
// their authenticator when they have MFA): a session, then where they
// were going.
func (p *Pages) signin(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "email", "code")
	t, err := p.d.Identity.Login(r.Context(), f.Values["email"], r.PostFormValue("password"), f.Values["code"])
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrMFARequired):
			f.Code = true
			f.Error = "Enter the code of your authenticator app, and your password again."
		case errors.Is(err, auth.ErrEmailUnverified):
			f.Error = "Confirm your address first: open the link we emailed you."
		case fault.KindOf(err) == fault.KindUnauthenticated || fault.KindOf(err) == fault.KindInvalid:
			f.Error = "The email or the password is wrong."
			f.Code = f.Values["code"] != ""
		default:
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", Nav: "signin", Data: accountView{Form: f, Next: next(r), OAuth: p.oauth()}})
		return
	}
	if err := p.start(w, r, t); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, next(r), http.StatusSeeOther)
}

// signout ends the browser's session.
func (p *Pages) signout(w http.ResponseWriter, r *http.Request) {
	if s, ok := user(r); ok {
		p.end(w, r, s)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Pages) registerForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := user(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "register", view{Title: "Create your account", Nav: "register",
		Data: accountView{Form: newForm(r, "email", "name"), Plan: r.FormValue("plan"), Interval: r.FormValue("interval"), OAuth: p.oauth()}})
}

// register opens an account through the register tool; in SANDBOX,
// where the address is confirmed at once, the person is signed in too.
func (p *Pages) register(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "email", "name", "password")
	password := r.PostFormValue("password")
	f.Values["password"] = ""
	in := tools.RegisterInput{Email: f.Values["email"], Password: password, Name: f.Values["name"]}
	var reg auth.Registration
	if err := p.call(r, p.visitor(r), tools.ToolRegister, in, &reg); err != nil {
		f.refuse(err)
		p.render(w, r, http.StatusUnprocessableEntity, "register", view{Title: "Create your account", Nav: "register",
			Data: accountView{Form: f, Plan: r.FormValue("plan"), Interval: r.FormValue("interval"), OAuth: p.oauth()}})
		return
	}
	if reg.Status == "confirmed" {
		if t, err := p.d.Identity.Login(r.Context(), in.Email, password, ""); err == nil {
			if err := p.start(w, r, t); err != nil {
				p.fail(w, r, err)
				return
			}
			http.Redirect(w, r, afterRegistering(r), http.StatusSeeOther)
			return
		}
	}
	p.render(w, r, http.StatusAccepted, "registered", view{Title: "Check your email", Data: reg})
}

// verifyForm shows the emailed link's page: a button confirms the
// address, so a mail scanner opening the link does not use it up.
func (p *Pages) verifyForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "verify", view{Title: "Confirm your address", Data: verifyView{Token: r.FormValue("token")}})
}

type verifyView struct {
	Token    string
	Verified *auth.Verified
	Error    string
}

func (p *Pages) verify(w http.ResponseWriter, r *http.Request) {
	v := verifyView{Token: r.PostFormValue("token")}
	var out auth.Verified
	status := http.StatusOK
	if err := p.call(r, p.visitor(r), tools.ToolVerifyEmail, tools.VerifyEmailInput{Token: v.Token}, &out); err != nil {
		var fe *fault.Error
		v.Error, status = "This link does not work: it was used already, it expired, or it is not ours. Ask for a new one.", http.StatusGone
		if errors.As(err, &fe) && fe.Kind == fault.KindUnavailable {
			p.fail(w, r, err)
			return
		}
	} else {
		v.Verified = &out
	}
	p.render(w, r, status, "verify", view{Title: "Confirm your address", Data: v})
}

// afterRegistering is where a new account goes: to pay for the plan it
// chose, or the front page for FREE or none.
func afterRegistering(r *http.Request) string {
	plan, interval := r.PostFormValue("plan"), r.PostFormValue("interval")
	if plan == "" || plan == "free" {
		return "/dashboard"
	}
	if interval == "" {
		interval = "monthly"
	}
	return "/billing/pay?plan=" + url.QueryEscape(plan) + "&interval=" + url.QueryEscape(interval)
}
