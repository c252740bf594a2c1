package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// Identity is what sessions ask of the identity service.
type Identity interface {
	Login(ctx context.Context, email, password, totpCode string) (auth.Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (auth.Tokens, error)
	Logout(ctx context.Context, refreshToken string) error
	VerifyAccessToken(ctx context.Context, raw string) (actor.Actor, auth.Claims, error)
	// OAuthProviders are the providers people can sign in with here.
	OAuthProviders() []string
}

// SessionStore keeps browser sessions; the store implements it.
type SessionStore interface {
	CreateBrowserSession(ctx context.Context, b auth.BrowserSession) error
	BrowserSession(ctx context.Context, id string, now time.Time) (auth.BrowserSession, error)
	RenewBrowserSession(ctx context.Context, b auth.BrowserSession, previousAccess string) error
	DeleteBrowserSession(ctx context.Context, id string) error
}

// The cookies: the session of a signed-in browser, and a visitor's CSRF
// token for the forms it posts before it has a session.
const (
	sessionCookie = "gb_session"
	csrfCookie    = "gb_csrf"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// renewAhead renews an access token this long before it expires, so a
// page never calls a tool with one about to.
const renewAhead = 30 * time.Second

// signedIn is the browser's session and who it signs in.
type signedIn struct {
	actor   actor.Actor
	email   string
	session auth.BrowserSession
}

type sessionKey struct{}

// user is the signed-in browser of a request, if any.
func user(r *http.Request) (signedIn, bool) {
	s, ok := r.Context().Value(sessionKey{}).(signedIn)
	return s, ok
}

// random is n random bytes, base64url.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionID is what the store knows a cookie by: its hash.
func sessionID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// aad binds a sealed refresh token to its session.
func aad(id string) []byte { return []byte("web-session:" + id) }

// secure reports whether the browser reached us over TLS (directly or
// through a proxy that says so): its cookies are then Secure.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (p *Pages) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureRequest(r)}
	if value == "" {
		c.MaxAge = -1
	} else if !expires.IsZero() {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// withSession reads the browser's session, renewing its access token
// when it is about to expire, and puts who it signs in on the request. A
// cookie of no live session is cleared and the request goes on as a
// visitor's.
func (p *Pages) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" || p.d.Sessions == nil {
			next.ServeHTTP(w, r)
			return
		}
		s, err := p.resume(r.Context(), sessionID(c.Value))
		if err != nil {
			if fault.KindOf(err) != fault.KindNotFound && fault.KindOf(err) != fault.KindUnauthenticated {
				p.d.Log.WarnContext(r.Context(), "resume a browser session", "err", err)
			}
			p.setCookie(w, r, sessionCookie, "", time.Time{})
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// resume reads session id and who it signs in, renewing its tokens first
// when the access token is about to expire.
func (p *Pages) resume(ctx context.Context, id string) (signedIn, error) {
	now := p.d.Now()
	b, err := p.d.Sessions.BrowserSession(ctx, id, now)
	if err != nil {
		return signedIn{}, err
	}
	if !now.Add(renewAhead).Before(b.AccessExpires) {
		if b, err = p.renew(ctx, b); err != nil {
			return signedIn{}, err
		}
	}
	a, claims, err := p.d.Identity.VerifyAccessToken(ctx, b.AccessToken)
	if err != nil {
		return signedIn{}, err
	}
	return signedIn{actor: a, email: claims.Email, session: b}, nil
}

// renew trades the session's refresh token for new tokens. Of two
// requests renewing at once, the second reads what the first kept.
func (p *Pages) renew(ctx context.Context, b auth.BrowserSession) (auth.BrowserSession, error) {
	refresh, err := p.d.Sealer.Open(ctx, b.RefreshSealed, aad(b.ID))
	if err != nil {
		return b, fmt.Errorf("open the session's refresh token: %w", err)
	}
	t, err := p.d.Identity.Refresh(ctx, string(refresh))
	if err != nil {
		if again, rerr := p.d.Sessions.BrowserSession(ctx, b.ID, p.d.Now()); rerr == nil && again.AccessToken != b.AccessToken {
			return again, nil
		}
		return b, err
	}
	next, err := p.keep(ctx, b, t)
	if err != nil {
		return b, err
	}
	if err := p.d.Sessions.RenewBrowserSession(ctx, next, b.AccessToken); err != nil {
		if fault.KindOf(err) == fault.KindConflict {
			return p.d.Sessions.BrowserSession(ctx, b.ID, p.d.Now())
		}
		return b, err
	}
	return next, nil
}

// keep puts tokens into session b, the refresh token sealed.
func (p *Pages) keep(ctx context.Context, b auth.BrowserSession, t auth.Tokens) (auth.BrowserSession, error) {
	sealed, err := p.d.Sealer.Seal(ctx, []byte(t.RefreshToken), aad(b.ID))
	if err != nil {
		return b, fmt.Errorf("seal the session's refresh token: %w", err)
	}
	b.AccessToken, b.AccessExpires, b.RefreshSealed, b.ExpiresAt = t.AccessToken, t.ExpiresAt.UTC(), sealed, t.RefreshExpiresAt.UTC()
	return b, nil
}

// start signs a browser in with tokens: a new session, its cookie.
func (p *Pages) start(w http.ResponseWriter, r *http.Request, t auth.Tokens) error {
	cookie := random(32)
	b := auth.BrowserSession{ID: sessionID(cookie), CSRF: random(24), CreatedAt: p.d.Now().UTC()}
	a, _, err := p.d.Identity.VerifyAccessToken(r.Context(), t.AccessToken)
	if err != nil {
		return err
	}
	b.UserID, b.TenantID = a.ID, a.TenantID
	if b, err = p.keep(r.Context(), b, t); err != nil {
		return err
	}
	if err := p.d.Sessions.CreateBrowserSession(r.Context(), b); err != nil {
		return err
	}
	p.setCookie(w, r, sessionCookie, cookie, b.ExpiresAt)
	p.setCookie(w, r, csrfCookie, "", time.Time{})
	return nil
}

// end signs the browser out: its refresh token revoked, its session and
// cookie gone.
func (p *Pages) end(w http.ResponseWriter, r *http.Request, s signedIn) {
	ctx := r.Context()
	if refresh, err := p.d.Sealer.Open(ctx, s.session.RefreshSealed, aad(s.session.ID)); err == nil {
		if err := p.d.Identity.Logout(ctx, string(refresh)); err != nil {
			p.d.Log.WarnContext(ctx, "revoke a browser's refresh token", "err", err)
		}
	}
	if err := p.d.Sessions.DeleteBrowserSession(ctx, s.session.ID); err != nil {
		p.d.Log.WarnContext(ctx, "end a browser session", "err", err)
	}
	p.setCookie(w, r, sessionCookie, "", time.Time{})
}

// csrfToken is the token the page's forms carry: the session's, or a
// visitor's own, set in its cookie on first use.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if s, ok := user(r); ok {
		return s.session.CSRF
	}
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	token := random(24)
	p.setCookie(w, r, csrfCookie, token, time.Time{})
	// Later reads of this request see it too.
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
	return token
}

// errCSRF refuses a form or fetch that does not carry the page's token.
var errCSRF = errors.New("the form's security token is missing or wrong: reload the page and try again")

// checkCSRF reports whether a state-changing request carries the token of
// its session (or, for a visitor, of its cookie), in the form or the
// X-CSRF-Token header.
func (p *Pages) checkCSRF(r *http.Request) bool {
	sent := r.Header.Get(csrfHeader)
	if sent == "" {
		sent = r.PostFormValue(csrfField)
	}
	want := ""
	if s, ok := user(r); ok {
		want = s.session.CSRF
	} else if c, err := r.Cookie(csrfCookie); err == nil {
		want = c.Value
	}
	return want != "" && sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(want)) == 1
}

// requireCSRF refuses a state-changing request (any method but GET, HEAD
// and OPTIONS) that does not carry its page's token: 403, as JSON to a
// script that asks for JSON. Every form and fetch of the pages passes it.
func (p *Pages) requireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions || p.checkCSRF(r):
			next.ServeHTTP(w, r)
		case wantsJSON(r):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": errCSRF.Error()})
		default:
			p.fail(w, r, errCSRF)
		}
	})
}

// wantsJSON reports whether a page's script asked for JSON rather than a
// page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// SessionActor is who the request's session cookie signs in, for another
// face on the same origin (the WebSocket hub): false when the request
// carries no live session.
func (p *Pages) SessionActor(r *http.Request) (actor.Actor, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || p.d.Sessions == nil {
		return actor.Actor{}, false, nil
	}
	s, err := p.resume(r.Context(), sessionID(c.Value))
	switch {
	case fault.KindOf(err) == fault.KindNotFound || fault.KindOf(err) == fault.KindUnauthenticated:
		return actor.Actor{}, false, nil
	case err != nil:
		return actor.Actor{}, false, err
	}
	return s.actor, true, nil
}
