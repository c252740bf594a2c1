// Package api is the REST face: chi routes under /api/v1 that decode and
// validate a request, call a tool and encode the answer. No business rule
// lives here: every route calls the tools registry, and errors become
// problem JSON in one place (problem.go).
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// Pinger reports whether a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Authenticator turns a bearer credential (access token or API token) into
// the actor calling.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (actor.Actor, error)
}

// Deps are what the router needs.
type Deps struct {
	Log    *slog.Logger
	Health Pinger
	Tools  *tools.Registry
	Auth   Authenticator
	// Sessions serves sign-in and the JWKS document (optional).
	Sessions Sessions
	// OAuth serves sign-in with Google and GitHub (optional).
	OAuth OAuth
	// OAuthPages finish the sign-ins begun from the web pages (optional).
	OAuthPages OAuthPages
	// Webhooks takes the payment processor's events (optional).
	Webhooks Webhooks
	// AgentStream streams the agent's steps at GET /api/v1/agent/stream
	// (optional).
	AgentStream EventSource
	// Mount adds routes owned by other faces (MCP, auth endpoints, web).
	Mount func(r chi.Router)
	// Version is the build version shown in the OpenAPI document.
	Version string
	// VisitorTenant is the tenant visitors who have not signed in call
	// public tools in (default: the default tenant).
	VisitorTenant string
}

// NewRouter builds the HTTP handler.
func NewRouter(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	r := chi.NewRouter()
	r.Use(requestLog(d.Log))
	r.Get("/healthz", health(d.Health))
	if d.Tools != nil {
		r.Route("/api/v1", func(r chi.Router) {
			r.Use(limitBody(MaxBody))
			doc, err := json.Marshal(OpenAPI(d.Tools.Tools(), d.Version))
			if err != nil {
				panic(err) // the document is built from static definitions
			}
			r.Get("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(doc)
			})
			r.Group(func(r chi.Router) {
				r.Use(Authenticate(d.Auth, d.Log))
				r.Get("/tools", func(w http.ResponseWriter, r *http.Request) {
					a, _ := actor.From(r.Context())
					writeJSON(w, http.StatusOK, map[string]any{"tools": d.Tools.Visible(a)})
				})
				if d.AgentStream != nil {
					r.Get("/agent/stream", Stream(d.AgentStream, d.Log))
				}
				mountTools(r, d, false)
			})
			r.Group(func(r chi.Router) {
				r.Use(Visit(d.Auth, cmp.Or(d.VisitorTenant, tenant.DefaultID), d.Log))
				mountTools(r, d, true)
			})
			r.NotFound(func(w http.ResponseWriter, r *http.Request) {
				writeProblem(w, r, d.Log, fault.NotFound("route", r.Method+" "+r.URL.Path))
			})
			r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
				writeProblem(w, r, d.Log, &fault.Error{Kind: fault.KindMalformed, Message: "method " + r.Method + " not allowed on " + r.URL.Path})
			})
		})
	}
	if d.Sessions != nil {
		mountSessions(r, d.Sessions, d)
	}
	if d.OAuth != nil {
		mountOAuth(r, d.OAuth, d)
	}
	if d.Webhooks != nil {
		mountWebhooks(r, d.Webhooks, d)
	}
	if d.Mount != nil {
		d.Mount(r)
	}
	return r
}

// mountTools routes the public tools, or the others.
func mountTools(r chi.Router, d Deps, public bool) {
	for _, tm := range d.Tools.Tools() {
		if tm.Public != public {
			continue
		}
		for _, m := range tm.Routes() {
			r.Method(m.Method, m.Path, newToolRoute(d.Tools, m, d.Log))
		}
	}
}

// Visit authenticates a bearer credential when one is sent (a bad one is
// answered 401), and otherwise lets the request through as an anonymous
// visitor from its address, in the tenant that takes visitors.
func Visit(auth Authenticator, tenantID string, log *slog.Logger) func(http.Handler) http.Handler {
	strict := Authenticate(auth, log)
	return func(next http.Handler) http.Handler {
		signed := strict(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				signed.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, withActor(r, actor.Anonymous(tenantID, clientHost(r))))
		})
	}
}

// clientHost is the address a request came from, without its port.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authenticate requires a bearer credential and puts its actor in the
// request context; a missing or bad one is answered 401.
func Authenticate(auth Authenticator, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || strings.TrimSpace(token) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gpubroker"`)
				writeProblem(w, r, log, fault.Unauthenticated("missing bearer token: send Authorization: Bearer <token>"))
				return
			}
			a, err := auth.Authenticate(r.Context(), strings.TrimSpace(token))
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gpubroker", error="invalid_token"`)
				if fault.KindOf(err) == "" {
					err = fault.Unauthenticated("invalid token")
				}
				writeProblem(w, r, log, err)
				return
			}
			next.ServeHTTP(w, withActor(r, a))
		})
	}
}

func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				writeProblem(w, r, slog.New(slog.DiscardHandler), &http.MaxBytesError{Limit: n})
				return
			}
			if r.Body != http.NoBody { // nothing to bound: keep NoBody recognisable
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func health(p Pinger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := p.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "database": "unreachable"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	}
}
