package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// Tokens is what a login or a refresh hands the client.
type Tokens struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"` // always "Bearer"
	ExpiresIn        int64     `json:"expires_in"` // seconds
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

// Claims are the claims of a built-in access token.
type Claims struct {
	jwt.RegisteredClaims
	TenantID string     `json:"tid"`
	Role     actor.Role `json:"role"`
	Email    string     `json:"email"`
	// AMR lists how the user authenticated: "pwd", and "otp" with MFA.
	AMR []string `json:"amr"`
}

// Authentication methods (RFC 8176).
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
)

// maxPassword bounds what Login hashes; longer input is refused outright
// (a new password has at most MaxPasswordLength).
const maxPassword = 1024

// dummyHash is verified when the email is unknown, so that an unknown
// email costs the same argon2id work as a wrong password.
var dummyHash = sync.OnceValues(func() (string, error) {
	return HashPassword("no user has this password: it only spends time")
})

func errBadCredentials() error {
	return fault.Unauthenticated("email or password is wrong")
}

// Login checks email and password (and the TOTP code when the user has
// MFA) and starts a session. An unknown email and a wrong password give
// the same error after the same work.
func (s *Service) Login(ctx context.Context, email, password, totpCode string) (Tokens, error) {
	attempted := email
	if len(attempted) > 320 {
		attempted = attempted[:320]
	}
	keys := loginKeys(ctx, email)
	now := s.now()
	fail := func(u User, err error, reason string) (Tokens, error) {
		if reason != "locked" {
			if rerr := s.repo.RecordLoginFailure(ctx, keys, now); rerr != nil {
				s.log.ErrorContext(ctx, "record login failure", "err", rerr)
			}
		}
		_ = s.record(ctx, event{action: "auth.login_failed", actor: actor.Actor{Kind: actor.KindUser, ID: u.ID, Name: attempted},
			tenant: u.TenantID, input: map[string]any{"email": attempted, "reason": reason}, err: err})
		return Tokens{}, err
	}
	if err := s.checkLoginLimit(ctx, keys, now); err != nil {
		if fault.KindOf(err) == fault.KindRateLimited {
			return fail(User{}, err, "locked")
		}
		return Tokens{}, err
	}
	var u User
	found := false
	if norm, err := NormalizeEmail(email); err == nil {
		u, err = s.repo.UserByEmail(ctx, norm)
		switch {
		case err == nil:
			found = true
		case fault.KindOf(err) != fault.KindNotFound:
			return Tokens{}, wrapRepo("login", err)
		}
	}
	if len(password) > maxPassword {
		return fail(User{}, errBadCredentials(), "bad credentials")
	}
	// An account without a password signs in only through its outside
	// provider (Google, GitHub, Cognito): to a password it is unknown.
	hasPassword := found && u.PasswordHash != ""
	hash := u.PasswordHash
	if !hasPassword {
		var err error
		if hash, err = dummyHash(); err != nil {
			return Tokens{}, fmt.Errorf("login: %w", err)
		}
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil && hasPassword {
		s.log.ErrorContext(ctx, "stored password hash is unreadable", "user", u.ID, "err", err)
	}
	if !hasPassword || !ok {
		// Name no user in the record, so failures for known and unknown
		// emails look alike in the log too.
		return fail(User{}, errBadCredentials(), "bad credentials")
	}
	if !u.EmailVerified {
		// The password was right, so this is no guess: it is not counted
		// towards the lockout.
		refusal := &sentinelError{fault.Forbidden("your email address is not verified yet: open the link we emailed to %s "+
			"(or ask for a new one with resend_verification, POST /api/v1/auth/verify/resend), then sign in", u.Email), ErrEmailUnverified}
		_ = s.record(ctx, event{action: "auth.login_failed", actor: userActor(u), tenant: u.TenantID,
			input: map[string]any{"email": u.Email, "reason": "email not verified"}, err: refusal})
		return Tokens{}, refusal
	}
	amr := []string{AMRPassword}
	mfa, err := s.repo.UserMFA(ctx, u.ID)
	switch {
	case err == nil && mfa.Enabled:
		if totpCode == "" {
			return fail(u, &sentinelError{fault.Unauthenticated("mfa code required"), ErrMFARequired}, "mfa code required")
		}
		if err := s.useCode(ctx, mfa, totpCode, false); err != nil {
			if fault.KindOf(err) != fault.KindInvalid {
				return Tokens{}, err
			}
			return fail(u, fault.Unauthenticated("mfa code is wrong or already used"), "mfa code rejected")
		}
		amr = append(amr, AMROTP)
	case err != nil && fault.KindOf(err) != fault.KindNotFound:
		return Tokens{}, wrapRepo("login", err)
	}
	if err := s.repo.ClearLoginFailures(ctx, keys[0]); err != nil {
		s.log.ErrorContext(ctx, "clear login failures", "err", err)
	}
	return s.signIn(ctx, u, amr, nil)
}

// signIn starts a new session for u (tokens of a new refresh family) and
// audits the sign-in with what the caller adds to its record.
func (s *Service) signIn(ctx context.Context, u User, amr []string, also map[string]any) (Tokens, error) {
	family := uuid.NewString()
	t, err := s.issue(ctx, u, amr, func(rt RefreshToken) error {
		rt.FamilyID = family
		return s.repo.CreateRefreshToken(ctx, rt)
	})
	if err != nil {
		return Tokens{}, err
	}
	in := map[string]any{"email": u.Email, "amr": amr, "family": family}
	maps.Copy(in, also)
	if err := s.record(ctx, event{action: "auth.login", actor: userActor(u), tenant: u.TenantID, input: in}); err != nil {
		return Tokens{}, err
	}
	return t, nil
}

// issue makes an access token and a refresh token for u; save stores the
// refresh token (its FamilyID still to be set by save when new).
func (s *Service) issue(ctx context.Context, u User, amr []string, save func(RefreshToken) error) (Tokens, error) {
	now := s.now()
	raw, hash, err := newOpaque()
	if err != nil {
		return Tokens{}, err
	}
	rt := RefreshToken{Hash: hash, UserID: u.ID, AMR: amr, ExpiresAt: now.Add(s.refreshTTL()), CreatedAt: now}
	if err := save(rt); err != nil {
		return Tokens{}, wrapRepo("store refresh token", err)
	}
	access, exp, err := s.signAccess(ctx, u, amr, now)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(exp.Sub(now) / time.Second), ExpiresAt: exp,
		RefreshToken: raw, RefreshExpiresAt: rt.ExpiresAt}, nil
}

func (s *Service) signAccess(ctx context.Context, u User, amr []string, now time.Time) (string, time.Time, error) {
	kid, key, err := s.signer(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := now.Add(s.accessTTL()).Truncate(time.Second)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.opt.Issuer, Subject: u.ID, Audience: jwt.ClaimStrings{s.opt.Audience},
			ExpiresAt: jwt.NewNumericDate(exp), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now),
			ID: uuid.NewString(),
		},
		TenantID: u.TenantID, Role: u.Role, Email: u.Email, AMR: amr,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	signed, err := tok.SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

// newOpaque returns a random 32-byte token (base64url) and its SHA-256
// (hex), which is all the database keeps.
func newOpaque() (raw, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("random token: %w", err)
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, hashSecret(raw), nil
}

func hashSecret(raw string) string {
	sum := sha256Of(raw)
	return hex.EncodeToString(sum[:])
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func errRefreshInvalid() error {
	return fault.Unauthenticated("refresh token is not valid; sign in again")
}

// refreshToken finds a presented refresh token.
func (s *Service) refreshToken(ctx context.Context, raw string) (RefreshToken, error) {
	if len(raw) != 43 {
		return RefreshToken{}, errRefreshInvalid()
	}
	t, err := s.repo.RefreshToken(ctx, hashSecret(raw))
	if fault.KindOf(err) == fault.KindNotFound {
		return t, errRefreshInvalid()
	}
	if err != nil {
		return t, wrapRepo("read refresh token", err)
	}
	return t, nil
}

// Refresh exchanges a refresh token for new tokens. The presented token is
// used up; presenting it again is taken as theft and revokes the whole
// family, so both the thief and the user must sign in again.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	old, err := s.refreshToken(ctx, refreshToken)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	switch {
	case !old.RevokedAt.IsZero():
		return Tokens{}, fault.Unauthenticated("refresh token was revoked; sign in again")
	case !old.UsedAt.IsZero():
		return Tokens{}, s.reused(ctx, old)
	case !now.Before(old.ExpiresAt):
		return Tokens{}, fault.Unauthenticated("refresh token expired; sign in again")
	}
	u, err := s.repo.UserByID(ctx, old.UserID)
	if fault.KindOf(err) == fault.KindNotFound {
		return Tokens{}, errRefreshInvalid()
	}
	if err != nil {
		return Tokens{}, wrapRepo("refresh", err)
	}
	t, err := s.issue(ctx, u, old.AMR, func(rt RefreshToken) error {
		rt.FamilyID = old.FamilyID
		return s.repo.RotateRefreshToken(ctx, old.Hash, now, rt)
	})
	if fault.KindOf(err) == fault.KindConflict {
		// Another request rotated this token between our read and our
		// write: the same token was presented twice.
		return Tokens{}, s.reused(ctx, old)
	}
	if err != nil {
		return Tokens{}, err
	}
	in := map[string]any{"family": old.FamilyID}
	if err := s.record(ctx, event{action: "auth.refresh", actor: userActor(u), tenant: u.TenantID, input: in}); err != nil {
		return Tokens{}, err
	}
	return t, nil
}

// reused revokes the family of a refresh token presented a second time.
func (s *Service) reused(ctx context.Context, t RefreshToken) error {
	if err := s.repo.RevokeRefreshFamily(ctx, t.FamilyID, s.now()); err != nil {
		return wrapRepo("revoke refresh family", err)
	}
	refusal := &sentinelError{fault.Unauthenticated("refresh token was already used; every session of this login is revoked, sign in again"), ErrRefreshReused}
	a := actor.Actor{Kind: actor.KindUser, ID: t.UserID}
	tenantID := ""
	if u, err := s.repo.UserByID(ctx, t.UserID); err == nil {
		a, tenantID = userActor(u), u.TenantID
	}
	_ = s.record(ctx, event{action: "auth.refresh_reuse", actor: a, tenant: tenantID,
		input: map[string]any{"family": t.FamilyID}, err: refusal})
	return refusal
}

// Logout ends the session the refresh token belongs to by revoking its
// whole family.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	t, err := s.refreshToken(ctx, refreshToken)
	if err != nil {
		return err
	}
	if err := s.repo.RevokeRefreshFamily(ctx, t.FamilyID, s.now()); err != nil {
		return wrapRepo("logout", err)
	}
	a := actor.Actor{Kind: actor.KindUser, ID: t.UserID}
	tenantID := ""
	if u, err := s.repo.UserByID(ctx, t.UserID); err == nil {
		a, tenantID = userActor(u), u.TenantID
	}
	return s.record(ctx, event{action: "auth.logout", actor: a, tenant: tenantID, input: map[string]any{"family": t.FamilyID}})
}

// PurgeExpiredRefreshTokens deletes refresh tokens past their expiry; a
// scheduler calls it now and then.
func (s *Service) PurgeExpiredRefreshTokens(ctx context.Context) (int64, error) {
	n, err := s.repo.DeleteExpiredRefreshTokens(ctx, s.now())
	if err != nil {
		return 0, wrapRepo("purge refresh tokens", err)
	}
	return n, nil
}

var (
	errUnknownKID = errors.New("unknown signing key")
	errNoKID      = errors.New("no key id")
	errAlg        = errors.New("algorithm not accepted")
)

// VerifyAccessToken checks a built-in access token: RS256 only, signed by
// a known key, right issuer and audience, within its validity window.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string) (actor.Actor, Claims, error) {
	var c Claims
	tok, err := s.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodRS256 {
			return nil, errAlg
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKID
		}
		return s.verifier(ctx, kid)
	})
	if err != nil {
		return actor.Actor{}, Claims{}, s.tokenError(ctx, "access token", tok, err)
	}
	if c.Subject == "" || c.TenantID == "" || !c.Role.Valid() {
		return actor.Actor{}, Claims{}, fault.Unauthenticated("access token lacks sub, tid or a known role")
	}
	return actor.Actor{Kind: actor.KindUser, ID: c.Subject, TenantID: c.TenantID, Role: c.Role, Name: c.Email,
		MFA: slices.Contains(c.AMR, AMROTP)}, c, nil
}

// tokenError turns a JWT parse error into a clear unauthenticated error.
func (s *Service) tokenError(ctx context.Context, what string, tok *jwt.Token, err error) error {
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return fault.Unauthenticated("%s is malformed", what)
	}
	if tok != nil {
		if alg, _ := tok.Header["alg"].(string); alg != jwt.SigningMethodRS256.Alg() {
			return fault.Unauthenticated("%s algorithm %q is not accepted; want RS256", what, alg)
		}
	}
	var msg string
	switch {
	case errors.Is(err, errAlg):
		msg = "algorithm is not accepted; want RS256"
	case errors.Is(err, errNoKID):
		msg = "has no key id (kid)"
	case errors.Is(err, errUnknownKID):
		msg = "is signed by an unknown key"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "signature is invalid"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "has the wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "has the wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "lacks a required claim"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The key lookup failed for another reason (database, JWKS
		// fetch): not the caller's fault, and not for the caller to read.
		s.log.ErrorContext(ctx, "verify token: key lookup failed", "what", what, "err", err)
		return fault.Unavailable("cannot verify %s now; try again", what)
	default:
		msg = "is not valid"
	}
	return fault.Unauthenticated("%s %s", what, msg)
}

// loginKeys are the keys failures count under: the account first, then
// the client address when known.
func loginKeys(ctx context.Context, email string) []string {
	norm, err := NormalizeEmail(email)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(email))
		if len(norm) > 320 {
			norm = norm[:320]
		}
	}
	keys := []string{"email:" + norm}
	if ip := clientIP(ctx); ip != "" {
		keys = append(keys, "ip:"+ip)
	}
	return keys
}

// loginLimit is how many failed sign-ins an account may have in the
// window.
func (s *Service) loginLimit() (int, time.Duration) {
	if s.opt.LoginLimit != nil {
		return s.opt.LoginLimit()
	}
	return 10, 15 * time.Minute
}

// checkLoginLimit refuses a sign-in while the account has had too many
// failures in the window, or the client address five times as many:
// password guessing stalls, and one address cannot sweep many accounts.
func (s *Service) checkLoginLimit(ctx context.Context, keys []string, now time.Time) error {
	limit, window := s.loginLimit()
	for i, k := range keys {
		max := limit
		if i > 0 {
			max = 5 * limit
		}
		n, err := s.repo.LoginFailures(ctx, k, now.Add(-window))
		if err != nil {
			return wrapRepo("login", err)
		}
		if n >= max {
			return fault.RateLimited("too many failed sign-ins; try again in %s", window.Round(time.Minute))
		}
	}
	return nil
}
