package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tenant"
)

// CognitoAPI is the part of a Cognito user pool's API that registration
// uses; *cognitoidentityprovider.Client is one.
type CognitoAPI interface {
	SignUp(ctx context.Context, in *cip.SignUpInput, opts ...func(*cip.Options)) (*cip.SignUpOutput, error)
	ConfirmSignUp(ctx context.Context, in *cip.ConfirmSignUpInput, opts ...func(*cip.Options)) (*cip.ConfirmSignUpOutput, error)
	ResendConfirmationCode(ctx context.Context, in *cip.ResendConfirmationCodeInput, opts ...func(*cip.Options)) (*cip.ResendConfirmationCodeOutput, error)
	AdminConfirmSignUp(ctx context.Context, in *cip.AdminConfirmSignUpInput, opts ...func(*cip.Options)) (*cip.AdminConfirmSignUpOutput, error)
}

// ProviderCognito also names Cognito in a user's linked identities, where
// the subject is the user pool's sub. A Cognito user's profile has the id
// cognitoUserPrefix + sub, which is the actor id its tokens authenticate
// as, so what the user owns is found by either.
const cognitoUserPrefix = "cognito:"

// cognitoConfig is the current identity-provider setup.
func (s *Service) cognitoConfig() CognitoConfig {
	if s.opt.Cognito == nil {
		return CognitoConfig{Provider: ProviderBuiltin}
	}
	return s.opt.Cognito()
}

// PoolID is the user pool's id, the last segment of the issuer
// (https://cognito-idp.<region>.amazonaws.com/<pool id>).
func (c CognitoConfig) PoolID() string {
	return c.Issuer[strings.LastIndexByte(c.Issuer, '/')+1:]
}

// Region is the user pool's AWS region, which its id begins with
// (eu-west-1_AbC123).
func (c CognitoConfig) Region() string {
	region, _, _ := strings.Cut(c.PoolID(), "_")
	return region
}

// secretHash is the SECRET_HASH an app client with a secret needs with
// every call about a user: base64(HMAC-SHA256(secret, username+client id)).
func (c CognitoConfig) secretHash(username string) *string {
	if c.ClientSecret == "" {
		return nil
	}
	m := hmac.New(sha256.New, []byte(c.ClientSecret))
	m.Write([]byte(username + c.ClientID))
	return aws.String(base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

// cognitoClient is the client of the user pool cfg names.
func (s *Service) cognitoClient(ctx context.Context, cfg CognitoConfig) (CognitoAPI, error) {
	if cfg.ClientID == "" || cfg.Region() == "" {
		return nil, fault.Unavailable("auth.provider is cognito but auth.cognito.client_id or auth.cognito.issuer is not set")
	}
	if s.opt.CognitoClient == nil {
		return nil, fault.Unavailable("auth.provider is cognito but this platform has no Cognito client")
	}
	return s.opt.CognitoClient(ctx, cfg.Region())
}

// cognitoFault turns a Cognito refusal into a domain error; what is not
// the caller's doing is logged and reported as unavailable.
func (s *Service) cognitoFault(ctx context.Context, op string, err error) error {
	var (
		badPassword *types.InvalidPasswordException
		badInput    *types.InvalidParameterException
		tooMany     *types.TooManyRequestsException
		limit       *types.LimitExceededException
		attempts    *types.TooManyFailedAttemptsException
	)
	switch {
	case errors.As(err, &badPassword):
		return fault.Invalid("password", "cognito_policy: the user pool refused it: %s", aws.ToString(badPassword.Message))
	case errors.As(err, &badInput):
		return fault.Invalid("email", "the user pool refused it: %s", aws.ToString(badInput.Message))
	case errors.As(err, &tooMany), errors.As(err, &limit), errors.As(err, &attempts):
		return fault.RateLimited("too many attempts at Cognito; try again later")
	}
	s.log.ErrorContext(ctx, "cognito call failed", "op", op, "err", err)
	return fault.Unavailable("cannot reach Cognito now; try again")
}

// registerCognito creates the account in the Cognito user pool, which
// emails a confirmation code, and keeps the user's profile beside it
// (R7.3, R7.6). With AutoConfirm it confirms the account at once.
func (s *Service) registerCognito(ctx context.Context, cfg CognitoConfig, su Signup) (Registration, error) {
	client, err := s.cognitoClient(ctx, cfg)
	if err != nil {
		return Registration{}, err
	}
	answer := registered(su.Email, su.AutoConfirm, VerifyByCode)
	owner, err := s.repo.UserByEmail(ctx, su.Email)
	switch {
	case err == nil:
		return answer, s.addressTaken(ctx, owner)
	case fault.KindOf(err) != fault.KindNotFound:
		return Registration{}, wrapRepo("register", err)
	}
	attrs := []types.AttributeType{{Name: aws.String("email"), Value: aws.String(su.Email)},
		{Name: aws.String("name"), Value: aws.String(su.Name)}}
	if su.TenantID != tenant.DefaultID {
		// Tokens name the tenant in this attribute (the default tenant
		// when absent); a pool serving another tenant's visitors defines it.
		attrs = append(attrs, types.AttributeType{Name: aws.String("custom:tenant_id"), Value: aws.String(su.TenantID)})
	}
	out, err := client.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(cfg.ClientID), Username: aws.String(su.Email),
		Password: aws.String(su.Password), SecretHash: cfg.secretHash(su.Email), UserAttributes: attrs})
	var exists *types.UsernameExistsException
	if errors.As(err, &exists) {
		// In the pool but without a profile here: still the owner's to hear of.
		s.log.WarnContext(ctx, "address registered in cognito has no profile", "tenant", su.TenantID)
		return answer, s.addressTaken(ctx, User{TenantID: su.TenantID, Email: su.Email})
	}
	if err != nil {
		return Registration{}, s.cognitoFault(ctx, "SignUp", err)
	}
	sub := aws.ToString(out.UserSub)
	if sub == "" {
		return Registration{}, s.cognitoFault(ctx, "SignUp", errors.New("the answer names no UserSub"))
	}
	confirmed := out.UserConfirmed
	if su.AutoConfirm && !confirmed {
		if _, err := client.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(cfg.PoolID()),
			Username: aws.String(su.Email)}); err != nil {
			// The account exists unconfirmed: keep its profile, and let the
			// visitor confirm with the code Cognito emailed.
			s.log.ErrorContext(ctx, "cognito AdminConfirmSignUp failed; the user confirms by code", "err", err)
		} else {
			confirmed = true
		}
	}
	now := s.now()
	u := User{ID: cognitoUserPrefix + sub, TenantID: su.TenantID, Email: su.Email, Name: su.Name, Role: actor.RoleUser,
		EmailVerified: confirmed, CreatedAt: now, UpdatedAt: now}
	if err := s.repo.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.repo.CreateIdentity(ctx, Identity{Provider: ProviderCognito, Subject: sub, UserID: u.ID, Email: u.Email, CreatedAt: now})
	}); err != nil {
		return Registration{}, wrapRepo("keep the profile of a cognito user", err)
	}
	in := map[string]any{"email": u.Email, "provider": ProviderCognito, "confirmed": confirmed}
	if err := s.record(ctx, event{action: "auth.register", actor: userActor(u), tenant: u.TenantID, input: in}); err != nil {
		return Registration{}, err
	}
	return registered(su.Email, confirmed, VerifyByCode), nil
}

// ConfirmCode confirms an address with the code Cognito emailed
// (ConfirmSignUp), and marks the user's profile confirmed. A wrong code,
// or an address without an account, is unauthenticated; an expired code,
// or an account confirmed already, is gone.
func (s *Service) ConfirmCode(ctx context.Context, email, code string) (Verified, error) {
	cfg := s.cognitoConfig()
	if cfg.Provider != ProviderCognito {
		return Verified{}, fault.Invalid("code", "addresses are confirmed by code only when auth.provider is cognito: open the emailed link")
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return Verified{}, err
	}
	if code = strings.TrimSpace(code); code == "" || len(code) > 64 {
		return Verified{}, fault.Invalid("code", "give the code Cognito emailed")
	}
	client, err := s.cognitoClient(ctx, cfg)
	if err != nil {
		return Verified{}, err
	}
	_, err = client.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(cfg.ClientID), Username: aws.String(email),
		ConfirmationCode: aws.String(code), SecretHash: cfg.secretHash(email)})
	var (
		mismatch *types.CodeMismatchException
		unknown  *types.UserNotFoundException
		expired  *types.ExpiredCodeException
		refused  *types.NotAuthorizedException
	)
	switch {
	case errors.As(err, &mismatch), errors.As(err, &unknown):
		return Verified{}, fault.Unauthenticated("this code is not valid for %s", email)
	case errors.As(err, &expired):
		return Verified{}, fault.Gone("this code expired; ask for a new one with resend_verification")
	case errors.As(err, &refused):
		// Cognito refuses to confirm an account that is confirmed already.
		return Verified{}, fault.Gone("this account cannot be confirmed again: %s", aws.ToString(refused.Message))
	case err != nil:
		return Verified{}, s.cognitoFault(ctx, "ConfirmSignUp", err)
	}
	a := actor.Actor{Kind: actor.KindUser, Name: email}
	tenantID := ""
	u, err := s.repo.UserByEmail(ctx, email)
	switch {
	case err == nil:
		a, tenantID = userActor(u), u.TenantID
		if !u.EmailVerified {
			if err := s.repo.SetEmailVerified(ctx, u.ID, s.now(), false); err != nil {
				return Verified{}, wrapRepo("verify email", err)
			}
		}
	case fault.KindOf(err) == fault.KindNotFound:
		s.log.WarnContext(ctx, "confirmed cognito user has no profile", "email", email)
	default:
		return Verified{}, wrapRepo("verify email", err)
	}
	if err := s.record(ctx, event{action: "auth.email_verified", actor: a, tenant: tenantID,
		input: map[string]any{"email": email, "by": VerifyByCode, "provider": ProviderCognito}}); err != nil {
		return Verified{}, err
	}
	return Verified{Email: email, Verified: true, Next: "Your address is confirmed: sign in."}, nil
}

// resendCognito has Cognito email a new code. Every refusal (no such
// user, confirmed already, too many codes) is only logged: the answer is
// the same for every address.
func (s *Service) resendCognito(ctx context.Context, cfg CognitoConfig, email string) error {
	client, err := s.cognitoClient(ctx, cfg)
	if err != nil {
		return err
	}
	if _, err := client.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(cfg.ClientID),
		Username: aws.String(email), SecretHash: cfg.secretHash(email)}); err != nil {
		s.log.InfoContext(ctx, "cognito sent no new code", "err", err)
		return nil
	}
	return s.record(ctx, event{action: "auth.verification_sent", actor: caller(ctx, actor.Actor{Kind: actor.KindAnonymous}),
		input: map[string]any{"email": email, "provider": ProviderCognito}})
}
