package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/tools"
)

//go:embed templates/*.html templates/admin/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Caller runs a tool call through the guarded pipeline; the tools
// registry is one.
type Caller interface {
	Call(ctx context.Context, req tools.Request) tools.Result
}

// Deps are what the pages need.
type Deps struct {
	Tools Caller
	// VisitorTenant is the tenant visitors who have not signed in browse.
	VisitorTenant string
	// Identity signs people in; Sessions keeps their browsers' sessions,
	// whose refresh tokens Sealer seals. Without them no one signs in.
	Identity Identity
	Sessions SessionStore
	Sealer   secrets.Sealer
	Log      *slog.Logger
	Now      func() time.Time
	// AdminMFA says whether POD Admins must have signed in with a second
	// factor (auth.mfa_required_for_admins); nil means they need not.
	AdminMFA func() bool
	// AgentStream serves the agent's steps to the console as server-sent
	// events, the caller in the request's context; nil leaves it out.
	AgentStream http.Handler
}

// Pages serves the web face.
type Pages struct {
	d     Deps
	pages map[string]*template.Template
}

// New parses the templates: a page that does not parse stops start-up.
func New(d Deps) (*Pages, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	p := &Pages{d: d, pages: map[string]*template.Template{}}
	funcs := p.funcs()
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	admin, err := fs.Glob(templateFiles, "templates/admin/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range append(names, admin...) {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		files := []string{"templates/layout.html", n}
		switch {
		case page == "layout" || page == "admin/nav":
			continue
		case strings.HasPrefix(page, "admin/"):
			files = append(files, "templates/admin/nav.html")
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", page, err)
		}
		p.pages[page] = t
	}
	return p, nil
}

// Mount routes the pages and their assets on r.
func (p *Pages) Mount(r chi.Router) {
	static, _ := fs.Sub(staticFiles, "static")
	assets := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	// A path no face serves is answered with the not-found page.
	r.NotFound(secure(p.withSession(http.HandlerFunc(p.notFound))).ServeHTTP)
	r.Group(func(r chi.Router) {
		r.Use(secure)
		r.Handle("/static/*", cacheAssets(assets))
		r.Group(func(r chi.Router) {
			r.Use(p.withSession, p.requireCSRF)
			r.Get("/", p.landing)
			r.Get("/plans", p.plans)
			r.Get("/signin", p.signinForm)
			r.Post("/signin", p.signin)
			r.Post("/signout", p.signout)
			r.Get("/register", p.registerForm)
			r.Post("/register", p.register)
			r.Get("/verify-email", p.verifyForm)
			r.Post("/verify-email", p.verify)
			r.Get("/dashboard", p.dashboard)
			r.Get("/offers", p.browse)
			r.Get("/pods/new", p.configure)
			r.Post("/pods/new", p.saveDraft)
			r.Get("/pods/estimate", p.estimate)
			r.Get("/pods/{id}", p.podPage)
			r.Post("/pods/{id}/deploy", p.podAction(tools.ToolDeployPod, nil))
			r.Post("/pods/{id}/stop", p.podAction(tools.ToolStopPod, nil))
			r.Post("/pods/{id}/start", p.podAction(tools.ToolStartPod, nil))
			r.Post("/pods/{id}/terminate", p.podAction(tools.ToolTerminatePod, nil))
			r.Post("/pods/{id}/scale", p.podAction(tools.ToolScalePod, scaleInput))
			r.Get("/pods/{id}/activate", p.activateForm)
			r.Post("/pods/{id}/activate", p.podAction(tools.ToolActivatePod, activateInput))
			r.Route("/admin", p.mountAdmin)
			r.Get("/mailbox", p.mailbox)
			r.Get("/billing/pay", p.payForm)
			r.Post("/billing/pay", p.pay)
			r.Get("/offers/{id}", p.offer)
			r.Get("/offers/{id}/prices", p.offerPrices)
			r.Get("/billing", p.billing)
			r.Post("/billing/credits", p.buyCredits)
		})
	})
}

// policy is the Content-Security-Policy of every page and asset: nothing
// runs or loads from another origin.
const policy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// stripePolicy widens policy for the one page that takes a payment method
// with Stripe Elements: Stripe.js from js.stripe.com, its fields in frames
// of js.stripe.com (and hooks.stripe.com for a bank's or 3-D Secure's
// step), and its calls to api.stripe.com.
const stripePolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' https://js.stripe.com; " +
	"frame-src https://js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// secure sets the headers every page and asset carries: nothing runs or
// loads from another origin, the page is not framed, and types are not
// guessed.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// cacheAssets lets browsers keep the embedded assets for an hour.
func cacheAssets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// caller is who a page calls the tools as: the signed-in user, or the
// visitor.
func (p *Pages) caller(r *http.Request) actor.Actor {
	if s, ok := user(r); ok {
		return s.actor
	}
	return p.visitor(r)
}

// visitor is the caller of a page from someone not signed in.
func (p *Pages) visitor(r *http.Request) actor.Actor {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return actor.Anonymous(p.d.VisitorTenant, host)
}

// call runs a tool for a page as who, decoding its output into out.
func (p *Pages) call(r *http.Request, who actor.Actor, tool string, in any, out any) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A form's action finishes even when the browser leaves the page
		// meanwhile (a reload, another click): a change is not cut off
		// half made because the answer has no one to go to.
		ctx = context.WithoutCancel(ctx)
	}
	res := p.d.Tools.Call(ctx, tools.Request{Actor: who, Face: audit.FaceWeb, Tool: tool, Input: raw})
	if res.Err != nil {
		return res.Err
	}
	if assignOutput(res.Output, out) {
		return nil
	}
	b, err := json.Marshal(res.Output)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// view is what every page's layout reads beside the page's own data.
type view struct {
	Title string
	// Nav names the page the navigation marks current.
	Nav  string
	Data any
	// User is who is signed in (empty for a visitor); CSRF the token its
	// forms carry.
	User string
	CSRF string
	// Admin says the signed-in person is a POD Admin (the console is
	// theirs).
	Admin bool
}

// render writes page with data, or the error page when it cannot.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t, ok := p.pages[page]
	if !ok {
		p.fail(w, r, fmt.Errorf("no page %s", page))
		return
	}
	v.CSRF = p.csrfToken(w, r)
	if s, ok := user(r); ok {
		v.User, v.Admin = s.email, s.actor.Role == actor.RolePodAdmin
	}
	b := getBuffer()
	defer putBuffer(b)
	if err := t.ExecuteTemplate(b, "layout.html", v); err != nil {
		p.fail(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = b.WriteTo(w)
}

// fail answers the error page: what went wrong in words a visitor can
// act on, the details only in the log.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := failure(err)
	if status >= 500 {
		p.d.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	}
	p.errorPage(w, r, status, msg)
}

// badRequest answers the error page for a request the page cannot read,
// saying what to ask for instead.
func (p *Pages) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	p.d.Log.DebugContext(r.Context(), "bad request", "path", r.URL.Path, "msg", msg)
	p.errorPage(w, r, http.StatusBadRequest, msg)
}

// failure is the status and the words a page answers err with.
func failure(err error) (int, string) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side. Please try again in a moment."
	var fe *fault.Error
	if errors.As(err, &fe) {
		switch fe.Kind {
		case fault.KindNotFound:
			status, msg = http.StatusNotFound, "There is no such page."
		case fault.KindUnavailable:
			status, msg = http.StatusServiceUnavailable, "This is not available right now. Please try again in a moment."
		case fault.KindInvalid, fault.KindMalformed:
			status, msg = http.StatusBadRequest, "This request cannot be answered: "+problems(fe)+"."
		}
	}
	var ref *tools.Refusal
	if errors.As(err, &ref) {
		switch ref.Verdict.Rule {
		case policies.RuleRate:
			status, msg = http.StatusTooManyRequests, "Too many requests from here just now. Please try again in a minute."
		default:
			status, msg = http.StatusForbidden, ref.Verdict.Reason
		}
	}
	if errors.Is(err, errCSRF) {
		status, msg = http.StatusForbidden, errCSRF.Error()
	}
	return status, msg
}

// problems says what is wrong with an input, field by field.
func problems(fe *fault.Error) string {
	if len(fe.Problems) == 0 {
		return fe.Message
	}
	out := make([]string, len(fe.Problems))
	for i, pr := range fe.Problems {
		out[i] = ruleName.ReplaceAllString(pr.Message, "")
		if pr.Field != "" {
			out[i] = pr.Field + ": " + out[i]
		}
	}
	return strings.Join(out, "; ")
}

// errorPage answers the error page with status and msg.
func (p *Pages) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	t := p.pages["error"]
	v := view{Title: http.StatusText(status), Data: msg, CSRF: p.csrfToken(w, r)}
	if s, ok := user(r); ok {
		v.User, v.Admin = s.email, s.actor.Role == actor.RolePodAdmin
	}
	var b bytes.Buffer
	if t == nil || t.ExecuteTemplate(&b, "layout.html", v) != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = b.WriteTo(w)
}

// numberField is one number input of a form, for the number partial.
type numberField struct{ Name, Label, Step, Min, Value, Error string }

func (p *Pages) funcs() template.FuncMap {
	return template.FuncMap{
		// hourly shows an offer's price per hour (USD, as providers
		// quote it).
		"hourly": func(usd float64) string {
			a, err := money.FromFloat(usd)
			if err != nil {
				return "—"
			}
			return a.String() + "/h"
		},
		"usd":           func(a money.Amount) string { return a.String() },
		"mailLink":      mailLink,
		"offerProvider": providers.ProviderOfOffer,
		"providerName":  providers.Name,
		// list makes a partial's arguments of several values.
		"list":   func(v ...any) []any { return v },
		"indent": indent,
		// field is what the number partial reads of one form field.
		"field": func(f form, name, label, step, min string) numberField {
			return numberField{Name: name, Label: label, Step: step, Min: min, Value: f.Values[name], Error: f.Errors[name]}
		},
		// hours shows seconds of running time in hours, to the tenth.
		"hours": func(seconds int64) string { return fmt.Sprintf("%d.%d h", seconds/3600, seconds%3600/360) },
		// ago says how long ago t was, roughly.
		"ago": func(t time.Time) string {
			d := p.d.Now().Sub(t)
			switch {
			case d < time.Minute:
				return "just now"
			case d < time.Hour:
				return fmt.Sprintf("%d min ago", int(d.Minutes()))
			}
			return t.UTC().Format("2 Jan 15:04 UTC")
		},
	}
}
