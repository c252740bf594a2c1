package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// Outside providers a person may sign in with (R7.7).
const (
	ProviderGoogle = "google"
	ProviderGitHub = "github"
)

// AMROAuth says a session began with a sign-in at an outside OAuth
// provider.
const AMROAuth = "oauth"

// Where the providers are when the parameters do not say otherwise.
const (
	googleUserinfoURL = "https://openidconnect.googleapis.com/v1/userinfo"
	githubAPIURL      = "https://api.github.com"
)

// oauthFlowTTL is how long a visitor has at the provider before the
// sign-in must start again.
const oauthFlowTTL = 10 * time.Minute

// OAuthClient is this platform's app at one provider. The URLs are
// empty for the provider's own.
type OAuthClient struct {
	ClientID     string
	ClientSecret string
	AuthURL      string
	TokenURL     string
	// ProfileURL is Google's OpenID userinfo endpoint, or the root of
	// GitHub's REST API.
	ProfileURL string
}

// OAuthConfig is the current OAuth setup. Options.OAuth returns it on
// every use, so a parameter change takes effect at once.
type OAuthConfig struct {
	Google OAuthClient
	GitHub OAuthClient
}

// OAuthFlow is a sign-in begun with a provider: where to send the
// browser, and the state the browser keeps (in a cookie) until the
// provider sends it back.
type OAuthFlow struct {
	URL       string
	State     string
	ExpiresAt time.Time
	// Secure says the platform is served over HTTPS, so the state's
	// cookie travels only there.
	Secure bool
}

// OAuthCallback is what the provider's redirect brings back, with the
// state the browser kept.
type OAuthCallback struct {
	Provider string
	// CookieState is the state kept by the browser that began the
	// sign-in; State is the one the provider sent back. They must match,
	// so a sign-in begun elsewhere cannot be finished in this browser.
	CookieState string
	State       string
	Code        string
	// Error is the provider's refusal (access_denied when the person
	// declined).
	Error string
	// TenantID is the tenant a new account joins: the visitors'.
	TenantID string
}

// oauthProfile is what a provider says of the person signing in.
type oauthProfile struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// oauthConfig is the oauth2 configuration of a provider, refused when
// the provider is unknown or has no app here.
func (s *Service) oauthConfig(provider string) (*oauth2.Config, OAuthClient, error) {
	var cfg OAuthConfig
	if s.opt.OAuth != nil {
		cfg = s.opt.OAuth()
	}
	var c OAuthClient
	var ep oauth2.Endpoint
	var scopes []string
	switch provider {
	case ProviderGoogle:
		c, ep, scopes = cfg.Google, endpoints.Google, []string{"openid", "email", "profile"}
		if c.ProfileURL == "" {
			c.ProfileURL = googleUserinfoURL
		}
	case ProviderGitHub:
		c, ep, scopes = cfg.GitHub, endpoints.GitHub, []string{"read:user", "user:email"}
		if c.ProfileURL == "" {
			c.ProfileURL = githubAPIURL
		}
	default:
		return nil, c, fault.NotFound("sign-in provider", provider)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return nil, c, fault.Unavailable("sign-in with %s is not set up: set auth.oauth.%s.client_id and client_secret", provider, provider)
	}
	if s.cognitoConfig().Provider == ProviderCognito {
		return nil, c, fault.Unavailable("with auth.provider cognito, sign in with %s through the user pool's own federation", provider)
	}
	if c.AuthURL != "" {
		ep.AuthURL = c.AuthURL
	}
	if c.TokenURL != "" {
		ep.TokenURL = c.TokenURL
	}
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, Scopes: scopes,
		RedirectURL: s.link("/auth/oauth/" + provider + "/callback")}, c, nil
}

// OAuthProviders lists the providers a person can sign in with here now:
// those whose app is set up, none under Cognito.
func (s *Service) OAuthProviders() []string {
	var out []string
	for _, p := range []string{ProviderGoogle, ProviderGitHub} {
		if _, _, err := s.oauthConfig(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// OAuthStart begins a sign-in with provider (authorization code with
// PKCE): the verifier is kept here under the hash of a random state, and
// the browser is sent to the provider with the state and the verifier's
// S256 challenge. A client address may have only so many sign-ins under
// way.
func (s *Service) OAuthStart(ctx context.Context, provider string) (OAuthFlow, error) {
	conf, _, err := s.oauthConfig(provider)
	if err != nil {
		return OAuthFlow{}, err
	}
	now := s.now()
	ip := clientIP(ctx)
	if err := s.checkAddress(ctx, ip, now); err != nil {
		return OAuthFlow{}, err
	}
	limit, _ := s.loginLimit()
	if n, err := s.repo.CountOAuthStates(ctx, ip, now.Add(-oauthFlowTTL)); err != nil {
		return OAuthFlow{}, wrapRepo("start sign-in", err)
	} else if n >= 5*limit {
		return OAuthFlow{}, fault.RateLimited("too many sign-ins begun from this address; try again in %s", oauthFlowTTL)
	}
	state, hash, err := newOpaque()
	if err != nil {
		return OAuthFlow{}, err
	}
	verifier := oauth2.GenerateVerifier()
	st := OAuthState{Hash: hash, Provider: provider, Verifier: verifier, ClientIP: ip, CreatedAt: now, ExpiresAt: now.Add(oauthFlowTTL)}
	if err := s.repo.CreateOAuthState(ctx, st); err != nil {
		return OAuthFlow{}, wrapRepo("start sign-in", err)
	}
	return OAuthFlow{URL: conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), State: state, ExpiresAt: st.ExpiresAt,
		Secure: strings.HasPrefix(conf.RedirectURL, "https://")}, nil
}

// OAuthFinish completes a sign-in when the provider sends the browser
// back: it checks the state against the browser's, exchanges the code
// with the PKCE verifier, reads the person's profile and signs them in,
// answering tokens as Login does. A person known by the provider's
// subject signs in to their account; otherwise an account with the
// address is linked, and a new one made, only when the provider says the
// address is verified. Every outcome is audited; a refusal counts
// against the client address as a failed sign-in does.
func (s *Service) OAuthFinish(ctx context.Context, cb OAuthCallback) (Tokens, error) {
	conf, client, err := s.oauthConfig(cb.Provider)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	ip := clientIP(ctx)
	fail := func(u User, reason string, err error) (Tokens, error) {
		if ip != "" {
			if rerr := s.repo.RecordLoginFailure(ctx, []string{"ip:" + ip}, now); rerr != nil {
				s.log.ErrorContext(ctx, "record sign-in failure", "err", rerr)
			}
		}
		a := actor.Actor{Kind: actor.KindAnonymous, ID: ip}
		if u.ID != "" {
			a = userActor(u)
		}
		_ = s.record(ctx, event{action: "auth.oauth_failed", actor: a, tenant: u.TenantID,
			input: map[string]any{"provider": cb.Provider, "reason": reason}, err: err})
		return Tokens{}, err
	}
	if err := s.checkAddress(ctx, ip, now); err != nil {
		_ = s.record(ctx, event{action: "auth.oauth_failed", actor: actor.Actor{Kind: actor.KindAnonymous, ID: ip},
			input: map[string]any{"provider": cb.Provider, "reason": "locked"}, err: err})
		return Tokens{}, err
	}
	if cb.State == "" || cb.CookieState == "" || subtle.ConstantTimeCompare([]byte(cb.State), []byte(cb.CookieState)) != 1 {
		return fail(User{}, "state mismatch", fault.Malformed("state",
			"this sign-in was not begun in this browser (its state does not match): start again"))
	}
	st, err := s.repo.TakeOAuthState(ctx, hashSecret(cb.State))
	switch {
	case fault.KindOf(err) == fault.KindNotFound:
		return fail(User{}, "state unknown", fault.Malformed("state", "this sign-in is unknown or was finished already: start again"))
	case err != nil:
		return Tokens{}, wrapRepo("finish sign-in", err)
	case st.Provider != cb.Provider:
		return fail(User{}, "state of another provider", fault.Malformed("state", "this sign-in was begun with %s: start again", st.Provider))
	case !now.Before(st.ExpiresAt):
		return fail(User{}, "state expired", fault.Malformed("state", "this sign-in took too long: start again"))
	}
	if cb.Error != "" {
		return fail(User{}, "provider refused: "+cb.Error, fault.Unauthenticated("%s did not sign you in (%s)", cb.Provider, cb.Error))
	}
	if cb.Code == "" {
		return fail(User{}, "no code", fault.Malformed("code", "%s sent no authorization code", cb.Provider))
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, s.opt.HTTPClient)
	tok, err := conf.Exchange(hctx, cb.Code, oauth2.VerifierOption(st.Verifier))
	var refused *oauth2.RetrieveError
	if errors.As(err, &refused) {
		return fail(User{}, "code refused: "+refused.ErrorCode, fault.Unauthenticated("%s refused the sign-in: start again", cb.Provider))
	}
	if err != nil {
		s.log.ErrorContext(ctx, "exchange oauth code", "provider", cb.Provider, "err", err)
		return Tokens{}, fault.Unavailable("cannot reach %s now; try again", cb.Provider)
	}
	p, err := s.oauthProfile(hctx, cb.Provider, client.ProfileURL, conf.Client(hctx, tok))
	if err != nil {
		s.log.ErrorContext(ctx, "read oauth profile", "provider", cb.Provider, "err", err)
		return Tokens{}, fault.Unavailable("cannot read your %s profile now; try again", cb.Provider)
	}
	u, how, err := s.oauthAccount(ctx, cb.Provider, p, cb.TenantID)
	if fe, ok := fault.As(err); ok && fe.Kind == fault.KindForbidden {
		return fail(u, how, err)
	}
	if err != nil {
		return Tokens{}, wrapRepo("finish sign-in", err)
	}
	if mfa, err := s.repo.UserMFA(ctx, u.ID); err == nil && mfa.Enabled {
		return fail(u, "mfa enabled", fault.Forbidden("this account has a second factor, which a %s sign-in cannot give: "+
			"sign in with your password and code", cb.Provider))
	} else if err != nil && fault.KindOf(err) != fault.KindNotFound {
		return Tokens{}, wrapRepo("finish sign-in", err)
	}
	return s.signIn(ctx, u, []string{AMROAuth}, map[string]any{"provider": cb.Provider, "account": how})
}

// How an OAuth sign-in found its account.
const (
	oauthKnown   = "known"
	oauthLinked  = "linked"
	oauthCreated = "created"
)

// oauthAccount finds or makes the account of p. On a refusal (forbidden)
// how is the reason.
func (s *Service) oauthAccount(ctx context.Context, provider string, p oauthProfile, tenantID string) (u User, how string, err error) {
	id, err := s.repo.Identity(ctx, provider, p.Subject)
	if err == nil {
		u, err = s.repo.UserByID(ctx, id.UserID)
		return u, oauthKnown, err
	}
	if fault.KindOf(err) != fault.KindNotFound {
		return User{}, "", err
	}
	email, err := NormalizeEmail(p.Email)
	if err != nil {
		return User{}, "no email", fault.Forbidden("%s gave no usable email address for your account: register with a password instead", provider)
	}
	if !p.EmailVerified {
		return User{}, "email not verified", fault.Forbidden("your email address %s is not verified at %s: verify it there and try again, "+
			"or sign in with your password", email, provider)
	}
	now := s.now()
	link := Identity{Provider: provider, Subject: p.Subject, Email: email, CreatedAt: now}
	u, err = s.repo.UserByEmail(ctx, email)
	switch {
	case err == nil:
		link.UserID = u.ID
		err = s.repo.InTx(ctx, func(ctx context.Context) error {
			if err := s.repo.CreateIdentity(ctx, link); err != nil {
				return err
			}
			if u.EmailVerified {
				return nil
			}
			// Whoever registered this address unconfirmed may not be its
			// owner, who has just proven it: their password goes.
			return s.repo.SetEmailVerified(ctx, u.ID, now, true)
		})
		if err != nil {
			return User{}, "", err
		}
		u.EmailVerified = true
		return u, oauthLinked, s.record(ctx, event{action: "auth.identity_linked", actor: userActor(u), tenant: u.TenantID,
			input: map[string]any{"email": email, "provider": provider}})
	case fault.KindOf(err) != fault.KindNotFound:
		return User{}, "", err
	}
	name := strings.TrimSpace(p.Name)
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	if len(name) > 100 {
		name = name[:100]
	}
	u = User{ID: uuid.NewString(), TenantID: tenantID, Email: email, Name: name, Role: actor.RoleUser, EmailVerified: true,
		CreatedAt: now, UpdatedAt: now}
	link.UserID = u.ID
	if err := s.repo.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.repo.CreateIdentity(ctx, link)
	}); err != nil {
		return User{}, "", err
	}
	return u, oauthCreated, s.record(ctx, event{action: "auth.register", actor: userActor(u), tenant: u.TenantID,
		input: map[string]any{"email": email, "provider": provider, "confirmed": true}})
}

// maxProfile bounds what is read of a profile answer.
const maxProfile = 1 << 20

// oauthProfile reads the person's profile with the provider's token:
// Google's OpenID userinfo, or GitHub's user and its primary address.
func (s *Service) oauthProfile(ctx context.Context, provider, base string, c *http.Client) (oauthProfile, error) {
	switch provider {
	case ProviderGoogle:
		var u struct {
			Sub           string `json:"sub"`
			Email         string `json:"email"`
			EmailVerified bool   `json:"email_verified"`
			Name          string `json:"name"`
		}
		if err := getJSON(ctx, c, base, false, &u); err != nil {
			return oauthProfile{}, err
		}
		if u.Sub == "" {
			return oauthProfile{}, errors.New("userinfo has no sub")
		}
		return oauthProfile{Subject: u.Sub, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name}, nil
	default:
		base = strings.TrimRight(base, "/")
		var u struct {
			ID    int64  `json:"id"`
			Login string `json:"login"`
			Name  string `json:"name"`
		}
		if err := getJSON(ctx, c, base+"/user", true, &u); err != nil {
			return oauthProfile{}, err
		}
		if u.ID == 0 {
			return oauthProfile{}, errors.New("github user has no id")
		}
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := getJSON(ctx, c, base+"/user/emails", true, &emails); err != nil {
			return oauthProfile{}, err
		}
		p := oauthProfile{Subject: strconv.FormatInt(u.ID, 10), Name: u.Name}
		if p.Name == "" {
			p.Name = u.Login
		}
		for _, e := range emails {
			if e.Primary {
				p.Email, p.EmailVerified = e.Email, e.Verified
			}
		}
		return p, nil
	}
}

// getJSON reads a JSON answer; github asks in the media type and API
// version GitHub documents.
func getJSON(ctx context.Context, c *http.Client, url string, github bool, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if github {
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxProfile))
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, maxProfile)).Decode(v)
}

// checkAddress refuses a client address with too many failed sign-ins in
// the window (five times what one account may have), the limit password
// sign-ins share.
func (s *Service) checkAddress(ctx context.Context, ip string, now time.Time) error {
	if ip == "" {
		return nil
	}
	limit, window := s.loginLimit()
	n, err := s.repo.LoginFailures(ctx, "ip:"+ip, now.Add(-window))
	if err != nil {
		return wrapRepo("sign in", err)
	}
	if n >= 5*limit {
		return fault.RateLimited("too many failed sign-ins; try again in %s", window.Round(time.Minute))
	}
	return nil
}
