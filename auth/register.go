package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
)

// Mailer queues mail in the transaction its context carries;
// *mail.Service is one.
type Mailer interface {
	Send(ctx context.Context, tenantID, to string, kind mail.Kind, data any) error
}

// DefaultVerificationTTL is how long a verification link works when the
// parameter auth.email_verification_ttl is not read.
const DefaultVerificationTTL = 24 * time.Hour

// linksPerHour bounds the verification links one account is sent in an
// hour, so resending cannot flood an inbox.
const linksPerHour = 5

// ErrEmailUnverified: the password was right but the address is not
// confirmed yet; the user must open the verification link first.
var ErrEmailUnverified = errors.New("email not verified")

// Signup is what a visitor gives to register.
type Signup struct {
	// TenantID is the tenant the account joins: the one that takes
	// visitors.
	TenantID string
	// AutoConfirm confirms the address at once, without a link: a SANDBOX
	// tenant skips verification (R7.8).
	AutoConfirm bool
	Email       string
	Password    string
	Name        string
}

// Registration statuses.
const (
	// StatusVerificationSent: a link (or, with Cognito, a code) is on its
	// way to the address; the account works once it is confirmed.
	StatusVerificationSent = "verification_sent"
	// StatusConfirmed: the account works now (SANDBOX).
	StatusConfirmed = "confirmed"
)

// How an address is confirmed.
const (
	// VerifyByLink: open the emailed link, or post its token to
	// verify_email.
	VerifyByLink = "link"
	// VerifyByCode: post the email and the code Cognito emailed to
	// verify_email.
	VerifyByCode = "code"
)

// Registration is what registering answers. It is the same whether the
// address was new or already had an account, so that the answer tells no
// one which addresses have accounts; only the address's owner learns of
// the attempt, by email.
type Registration struct {
	Email  string `json:"email"`
	Status string `json:"status" jsonschema:"verification_sent: confirm the address before signing in; confirmed: sign in now (SANDBOX)"`
	Verify string `json:"verify,omitempty" jsonschema:"how to confirm: link (open the emailed link, or post its token to verify_email) or code (post the email and the code Cognito emailed to verify_email)"`
	Next   string `json:"next" jsonschema:"what to do next, in words"`
}

// Verified is what confirming an address answers.
type Verified struct {
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
	Next     string `json:"next"`
}

// CheckSignup validates what a visitor gave, naming each problem; it
// returns the normalized email. Registering checks the same, so a form
// can check as the visitor types without registering.
func (s *Service) CheckSignup(su Signup) (string, error) {
	var problems []fault.Problem
	email, err := NormalizeEmail(su.Email)
	if fe, ok := fault.As(err); ok {
		problems = append(problems, fe.Problems...)
	}
	if name := strings.TrimSpace(su.Name); name == "" || len(name) > 100 {
		problems = append(problems, fault.Problem{Field: "name", Message: "want 1–100 characters"})
	}
	if fe, ok := fault.As(s.PasswordPolicy().Check(su.Password, email, su.Name)); ok {
		problems = append(problems, fe.Problems...)
	}
	return email, fault.InvalidAll("cannot register", problems)
}

// Register creates an unconfirmed account (role user) and emails a
// single-use verification link, in one transaction; with AutoConfirm the
// account is confirmed at once and no link is sent. An address that
// already has an account answers the same, after the same work, and its
// owner is emailed instead. With Cognito as the identity provider, the
// account is created in the user pool and Cognito emails a code.
func (s *Service) Register(ctx context.Context, su Signup) (Registration, error) {
	email, err := s.CheckSignup(su)
	if err != nil {
		return Registration{}, err
	}
	su.Email, su.Name = email, strings.TrimSpace(su.Name)
	if s.opt.Mail == nil {
		return Registration{}, fault.Unavailable("registration is not available: no mail service is configured")
	}
	if cfg := s.cognitoConfig(); cfg.Provider == ProviderCognito {
		return s.registerCognito(ctx, cfg, su)
	}
	// Hash first, whether or not the address is taken, so both answers
	// cost the same argon2id work.
	hash, err := HashPassword(su.Password)
	if err != nil {
		return Registration{}, err
	}
	answer := registered(email, su.AutoConfirm, VerifyByLink)
	owner, err := s.repo.UserByEmail(ctx, email)
	switch {
	case err == nil:
		return answer, s.addressTaken(ctx, owner)
	case fault.KindOf(err) != fault.KindNotFound:
		return Registration{}, wrapRepo("register", err)
	}
	now := s.now()
	u := User{ID: uuid.NewString(), TenantID: su.TenantID, Email: email, Name: su.Name, Role: actor.RoleUser,
		PasswordHash: hash, EmailVerified: su.AutoConfirm, CreatedAt: now, UpdatedAt: now}
	err = s.repo.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.CreateUser(ctx, u); err != nil {
			return err
		}
		if su.AutoConfirm {
			return nil
		}
		return s.sendLink(ctx, u, now)
	})
	if fault.KindOf(err) == fault.KindConflict {
		// Registered by someone else a moment ago: the address is taken.
		if owner, err := s.repo.UserByEmail(ctx, email); err == nil {
			return answer, s.addressTaken(ctx, owner)
		}
	}
	if err != nil {
		return Registration{}, wrapRepo("register", err)
	}
	in := map[string]any{"email": email, "confirmed": su.AutoConfirm}
	return answer, s.record(ctx, event{action: "auth.register", actor: userActor(u), tenant: u.TenantID, input: in})
}

// registered is the one answer to a registration of email.
func registered(email string, confirmed bool, verify string) Registration {
	if confirmed {
		return Registration{Email: email, Status: StatusConfirmed,
			Next: "Your account is ready: sign in with your email and password."}
	}
	r := Registration{Email: email, Status: StatusVerificationSent, Verify: verify}
	if verify == VerifyByCode {
		r.Next = "We emailed a confirmation code to " + email + ": send it with your email to verify_email " +
			"(POST /api/v1/auth/verify), then sign in."
	} else {
		r.Next = "We emailed a link to " + email + ": open it to confirm your address, then sign in."
	}
	return r
}

// addressTaken emails the owner of an address someone tried to register
// with, and records the attempt in the owner's tenant.
func (s *Service) addressTaken(ctx context.Context, owner User) error {
	data := mail.AlreadyRegistered{Name: owner.Name, Link: s.link("/login")}
	if err := s.repo.InTx(ctx, func(ctx context.Context) error {
		return s.opt.Mail.Send(ctx, owner.TenantID, owner.Email, mail.KindAlreadyRegistered, data)
	}); err != nil {
		return fmt.Errorf("mail the owner of a registered address: %w", err)
	}
	return s.record(ctx, event{action: "auth.register_taken", actor: caller(ctx, actor.Actor{Kind: actor.KindAnonymous}),
		tenant: owner.TenantID, input: map[string]any{"email": owner.Email}})
}

// link is an absolute link to path under the platform's address.
func (s *Service) link(path string) string {
	base := "http://127.0.0.1:8080"
	if s.opt.BaseURL != nil {
		if b := s.opt.BaseURL(); b != "" {
			base = b
		}
	}
	return strings.TrimRight(base, "/") + path
}

func (s *Service) verificationTTL() time.Duration {
	if s.opt.VerificationTTL != nil {
		if d := s.opt.VerificationTTL(); d > 0 {
			return d
		}
	}
	return DefaultVerificationTTL
}

// sendLink stores a new verification link for u and queues the mail that
// carries it, in the transaction ctx carries.
func (s *Service) sendLink(ctx context.Context, u User, now time.Time) error {
	raw, hash, err := newOpaque()
	if err != nil {
		return err
	}
	v := EmailVerification{TokenHash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.verificationTTL())}
	if err := s.repo.CreateVerification(ctx, v); err != nil {
		return err
	}
	data := mail.VerifyEmail{Name: u.Name, Link: s.link("/verify-email?token=" + url.QueryEscape(raw)), ExpiresAt: v.ExpiresAt}
	return s.opt.Mail.Send(ctx, u.TenantID, u.Email, mail.KindVerifyEmail, data)
}

func errLinkInvalid() error {
	return fault.Unauthenticated("this verification link is not valid: open the link exactly as emailed, or ask for a new one")
}

// VerifyEmail confirms the address of the link token came in. A link
// works once: a used or expired one is gone, an unknown one
// unauthenticated (as pods' activation links are).
func (s *Service) VerifyEmail(ctx context.Context, token string) (Verified, error) {
	if len(token) != 43 {
		return Verified{}, errLinkInvalid()
	}
	hash := hashSecret(token)
	v, err := s.repo.Verification(ctx, hash)
	if fault.KindOf(err) == fault.KindNotFound {
		return Verified{}, errLinkInvalid()
	}
	if err != nil {
		return Verified{}, wrapRepo("verify email", err)
	}
	now := s.now()
	switch {
	case !v.UsedAt.IsZero():
		return Verified{}, fault.Gone("this verification link was used already; sign in, or ask for a new link if your address is not confirmed")
	case !now.Before(v.ExpiresAt):
		return Verified{}, fault.Gone("this verification link expired at %s; ask for a new one", v.ExpiresAt.Format(time.RFC3339))
	}
	u, err := s.repo.UserByID(ctx, v.UserID)
	if err != nil {
		return Verified{}, wrapRepo("verify email", err)
	}
	if err := s.repo.ConfirmEmail(ctx, hash, now); fault.KindOf(err) == fault.KindConflict {
		return Verified{}, fault.Gone("this verification link was used already")
	} else if err != nil {
		return Verified{}, wrapRepo("verify email", err)
	}
	if err := s.record(ctx, event{action: "auth.email_verified", actor: userActor(u), tenant: u.TenantID,
		input: map[string]any{"email": u.Email, "by": VerifyByLink}}); err != nil {
		return Verified{}, err
	}
	return Verified{Email: u.Email, Verified: true, Next: "Your address is confirmed: sign in with your email and password."}, nil
}

// ResendVerification sends a new link to an account that has not
// confirmed its address (or, with Cognito, has Cognito send a new code).
// It answers the same for every address, and sends at most a few links
// an hour.
func (s *Service) ResendVerification(ctx context.Context, email string) (Registration, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Registration{}, err
	}
	if s.opt.Mail == nil {
		return Registration{}, fault.Unavailable("verification is not available: no mail service is configured")
	}
	answer := Registration{Email: email, Status: StatusVerificationSent, Verify: VerifyByLink,
		Next: "If " + email + " has an account that is not confirmed yet, a new link is on its way."}
	if cfg := s.cognitoConfig(); cfg.Provider == ProviderCognito {
		answer.Verify, answer.Next = VerifyByCode, "If "+email+" has an account that is not confirmed yet, Cognito is emailing a new code."
		return answer, s.resendCognito(ctx, cfg, email)
	}
	u, err := s.repo.UserByEmail(ctx, email)
	switch {
	case fault.KindOf(err) == fault.KindNotFound:
		return answer, nil
	case err != nil:
		return Registration{}, wrapRepo("resend verification", err)
	case u.EmailVerified || u.PasswordHash == "":
		// Confirmed already, or an account of an outside provider.
		return answer, nil
	}
	now := s.now()
	n, err := s.repo.CountVerifications(ctx, u.ID, now.Add(-time.Hour))
	if err != nil {
		return Registration{}, wrapRepo("resend verification", err)
	}
	if n >= linksPerHour {
		s.log.WarnContext(ctx, "verification links held back: too many this hour", "user", u.ID)
		return answer, nil
	}
	if err := s.repo.InTx(ctx, func(ctx context.Context) error { return s.sendLink(ctx, u, now) }); err != nil {
		return Registration{}, wrapRepo("resend verification", err)
	}
	return answer, s.record(ctx, event{action: "auth.verification_sent", actor: userActor(u), tenant: u.TenantID,
		input: map[string]any{"email": u.Email}})
}
