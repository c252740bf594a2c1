package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gpubroker/pod/fault"
)

// TOTP as authenticator apps expect it: 30-second steps, 6 digits, SHA-1.
// A code is accepted one step either side of now, and only once: each
// accepted step is recorded and a code must be of a later step.
const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func totpAAD(userID string) []byte { return []byte("totp/" + userID) }

func errCodeRejected() error {
	return fault.Invalid("code", "is wrong or was already used")
}

// EnrollTOTP starts (or restarts) TOTP enrolment for a user: it returns
// the secret and the otpauth:// URL to show as a QR code. MFA is enabled
// only once ConfirmTOTP sees a valid code.
func (s *Service) EnrollTOTP(ctx context.Context, userID string) (secret, otpauthURL string, err error) {
	u, err := s.repo.UserByID(ctx, userID)
	if err != nil {
		return "", "", wrapRepo("enrol mfa", err)
	}
	switch m, err := s.repo.UserMFA(ctx, userID); {
	case err == nil && m.Enabled:
		return "", "", fault.Conflict("mfa is already enabled; disable it before enrolling again")
	case err != nil && fault.KindOf(err) != fault.KindNotFound:
		return "", "", wrapRepo("enrol mfa", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opt.TOTPIssuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", fmt.Errorf("generate totp secret: %w", err)
	}
	sealed, err := s.sealer.Seal(ctx, []byte(key.Secret()), totpAAD(userID))
	if err != nil {
		return "", "", fmt.Errorf("seal totp secret: %w", err)
	}
	if err := s.repo.PutUserMFA(ctx, MFA{UserID: userID, Secret: sealed, UpdatedAt: s.now()}); err != nil {
		return "", "", wrapRepo("enrol mfa", err)
	}
	if err := s.record(ctx, event{action: "auth.mfa_enrol", actor: caller(ctx, userActor(u)), tenant: u.TenantID,
		input: map[string]any{"user_id": userID}}); err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// ConfirmTOTP enables MFA for a user whose pending enrolment a valid code
// confirms.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) error {
	u, m, err := s.enrolment(ctx, userID)
	if err != nil {
		return err
	}
	if m.Enabled {
		return fault.Conflict("mfa is already enabled")
	}
	if err := s.useCode(ctx, m, code, true); err != nil {
		return err
	}
	return s.record(ctx, event{action: "auth.mfa_enabled", actor: caller(ctx, userActor(u)), tenant: u.TenantID,
		input: map[string]any{"user_id": userID}})
}

// DisableTOTP turns MFA off for a user, given a valid current code.
func (s *Service) DisableTOTP(ctx context.Context, userID, code string) error {
	u, m, err := s.enrolment(ctx, userID)
	if err != nil {
		return err
	}
	if !m.Enabled {
		return fault.Conflict("mfa is not enabled")
	}
	if err := s.useCode(ctx, m, code, false); err != nil {
		return err
	}
	if err := s.repo.DeleteUserMFA(ctx, userID); err != nil {
		return wrapRepo("disable mfa", err)
	}
	return s.record(ctx, event{action: "auth.mfa_disabled", actor: caller(ctx, userActor(u)), tenant: u.TenantID,
		input: map[string]any{"user_id": userID}})
}

func (s *Service) enrolment(ctx context.Context, userID string) (User, MFA, error) {
	u, err := s.repo.UserByID(ctx, userID)
	if err != nil {
		return u, MFA{}, wrapRepo("read user", err)
	}
	m, err := s.repo.UserMFA(ctx, userID)
	if fault.KindOf(err) == fault.KindNotFound {
		return u, m, fault.Conflict("mfa is not enrolled; enrol first")
	}
	if err != nil {
		return u, m, wrapRepo("read mfa", err)
	}
	return u, m, nil
}

// useCode accepts code when it matches a step within one of now that is
// later than the last accepted step, and records that step (enabling MFA
// when enable is set). A wrong or replayed code is fault.Invalid.
func (s *Service) useCode(ctx context.Context, m MFA, code string, enable bool) error {
	if len(code) != 6 {
		return errCodeRejected()
	}
	secret, err := s.sealer.Open(ctx, m.Secret, totpAAD(m.UserID))
	if err != nil {
		return fmt.Errorf("open totp secret: %w", err)
	}
	now := s.now()
	cur := now.Unix() / totpPeriod
	for _, step := range []int64{cur, cur - 1, cur + 1} {
		ok, err := totp.ValidateCustom(code, string(secret), time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil || !ok {
			continue
		}
		if step <= m.LastStep {
			return errCodeRejected()
		}
		err = s.repo.UseMFAStep(ctx, m.UserID, step, enable, now)
		if fault.KindOf(err) == fault.KindConflict {
			// Another request accepted this step (or a later one) first.
			return errCodeRejected()
		}
		return wrapRepo("use mfa code", err)
	}
	return errCodeRejected()
}
