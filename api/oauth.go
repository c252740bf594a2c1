package api

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/tenant"
)

// OAuth signs people in through Google or GitHub. Like Sessions these are
// routes of their own rather than tools: they are browser redirects that
// come before any actor exists, and identity audits every outcome.
type OAuth interface {
	OAuthStart(ctx context.Context, provider string) (auth.OAuthFlow, error)
	OAuthFinish(ctx context.Context, cb auth.OAuthCallback) (auth.Tokens, error)
}

// oauthCookie keeps a sign-in's state in the browser that began it, so the
// callback can tell that browser's return from one begun elsewhere.
const oauthCookie = "gpb_oauth_state"

// oauthToCookie remembers that a sign-in was begun from the web pages
// (start?to=web), so its callback hands the tokens to them.
const oauthToCookie = "gpb_oauth_to"

// OAuthPages finish a sign-in begun from the web pages: a browser
// session and the dashboard, or the sign-in page saying what failed.
type OAuthPages interface {
	FinishOAuth(w http.ResponseWriter, r *http.Request, t auth.Tokens, err error)
}

// oauthPath is where the OAuth routes live, and the only path the state
// cookie is sent to.
const oauthPath = "/auth/oauth/"

// mountOAuth adds GET /auth/oauth/{provider}/start, which sends the
// browser to the provider, and GET /auth/oauth/{provider}/callback, where
// the provider sends it back and which answers the tokens of a sign-in.
func mountOAuth(r chi.Router, o OAuth, d Deps) {
	visitors := cmp.Or(d.VisitorTenant, tenant.DefaultID)
	r.Get(oauthPath+"{provider}/start", func(w http.ResponseWriter, r *http.Request) {
		flow, err := o.OAuthStart(withIP(r), chi.URLParam(r, "provider"))
		if err != nil {
			writeProblem(w, r, d.Log, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: flow.State, Path: oauthPath,
			MaxAge: int(time.Until(flow.ExpiresAt) / time.Second), HttpOnly: true, Secure: flow.Secure, SameSite: http.SameSiteLaxMode})
		if r.URL.Query().Get("to") == "web" && d.OAuthPages != nil {
			http.SetCookie(w, &http.Cookie{Name: oauthToCookie, Value: "web", Path: oauthPath,
				MaxAge: int(time.Until(flow.ExpiresAt) / time.Second), HttpOnly: true, Secure: flow.Secure, SameSite: http.SameSiteLaxMode})
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, flow.URL, http.StatusFound)
	})
	r.Get(oauthPath+"{provider}/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		cb := auth.OAuthCallback{Provider: chi.URLParam(r, "provider"), State: q.Get("state"), Code: q.Get("code"),
			Error: q.Get("error"), TenantID: visitors}
		if c, err := r.Cookie(oauthCookie); err == nil {
			cb.CookieState = c.Value
		}
		// The state is spent whatever the outcome.
		for _, name := range []string{oauthCookie, oauthToCookie} {
			http.SetCookie(w, &http.Cookie{Name: name, Path: oauthPath, MaxAge: -1, HttpOnly: true,
				Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		}
		w.Header().Set("Cache-Control", "no-store")
		tokens, err := o.OAuthFinish(withIP(r), cb)
		if c, cerr := r.Cookie(oauthToCookie); cerr == nil && c.Value == "web" && d.OAuthPages != nil {
			d.OAuthPages.FinishOAuth(w, r, tokens, err)
			return
		}
		if err != nil {
			writeProblem(w, r, d.Log, err)
			return
		}
		writeJSON(w, http.StatusOK, tokens)
	})
}
