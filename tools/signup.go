package tools

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
)

// Tool names of the signup toolset.
const (
	ToolRegister           = "register"
	ToolVerifyEmail        = "verify_email"
	ToolResendVerification = "resend_verification"
)

// RegisterInput is the input of register.
type RegisterInput struct {
	Control
	Email    string `json:"email" jsonschema:"email address of the new account"`
	Password string `json:"password" audit:"redact" jsonschema:"at least 12 characters mixing letters with digits or symbols, not a common password, and hard to guess (auth.password_min_score)"`
	Name     string `json:"name" jsonschema:"display name, 1 to 100 characters"`
}

// VerifyEmailInput is the input of verify_email: the token of the
// emailed link, or with Cognito the address and the code it emailed.
type VerifyEmailInput struct {
	Control
	Token string `json:"token,omitempty" audit:"redact" jsonschema:"the token of the emailed link (<platform>/verify-email?token=…)"`
	Email string `json:"email,omitempty" jsonschema:"with Cognito as identity provider: the address registered"`
	Code  string `json:"code,omitempty" audit:"redact" jsonschema:"with Cognito as identity provider: the confirmation code Cognito emailed"`
}

// Validate implements Validator.
func (in *VerifyEmailInput) Validate() error {
	switch {
	case in.Token != "" && (in.Email != "" || in.Code != ""):
		return fault.Invalid("token", "give the token of the link, or the email and the code, not both")
	case in.Token == "" && (in.Email == "") != (in.Code == ""):
		return fault.Invalid("code", "give the email and the code together")
	case in.Token == "" && in.Email == "":
		return fault.Invalid("token", "give the token of the emailed link (or, with Cognito, the email and the code)")
	}
	return nil
}

// ResendInput is the input of resend_verification.
type ResendInput struct {
	Control
	Email string `json:"email" jsonschema:"the address registered"`
}

// registerSignupTools registers the tools a visitor calls to open an
// account: public over REST, and rate limited per client address by the
// registry like every anonymous call.
func registerSignupTools(r *Registry, s Services) {
	registerToolset(r, ToolsetSignup, register(s), verifyEmail(s), resendVerification(s))
}

// visitorContext carries a visitor's address to the identity service,
// which records it with every auth event.
func visitorContext(ctx context.Context, c *Call) context.Context {
	if c.Actor.Kind == actor.KindAnonymous {
		return auth.WithClientIP(ctx, c.Actor.ID)
	}
	return ctx
}

// visitorOnly refuses register to a caller who is signed in: an account
// is opened by a visitor, in the tenant that takes visitors.
func visitorOnly(c *Call) error {
	if c.Actor.Kind != actor.KindAnonymous {
		return fault.Forbidden("you are signed in: register opens an account for a visitor; sign out first")
	}
	return nil
}

func register(s Services) Def[RegisterInput, auth.Registration] {
	return Def[RegisterInput, auth.Registration]{
		Name: ToolRegister, Title: "Register", Group: ToolsetSignup, MinRole: actor.RoleUser, Public: true,
		Description: "Open an account (role user) with an email, a password and a name. The address must be confirmed before " +
			"signing in: a single-use link is emailed (with Cognito as identity provider, a code); in a SANDBOX tenant the " +
			"account is confirmed at once. The answer is the same whether or not the address already has an account; its " +
			"owner is emailed instead. A dry run checks the input without registering.",
		Method: http.MethodPost, Path: "/auth/register", Status: http.StatusAccepted,
		Preview: func(ctx context.Context, c *Call, in *RegisterInput) (Preview, error) {
			if err := visitorOnly(c); err != nil {
				return Preview{}, err
			}
			email, err := s.Identity.CheckSignup(auth.Signup{Email: in.Email, Password: in.Password, Name: in.Name})
			if err != nil {
				return Preview{}, err
			}
			then := "a verification link is emailed to it"
			if c.Tenant.Mode == mode.Sandbox {
				then = "the account is confirmed at once (SANDBOX)"
			}
			return Preview{Effect: fmt.Sprintf("register %s as a user of tenant %s; %s", email, c.Tenant.ID, then)}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *RegisterInput) (auth.Registration, error) {
			if err := visitorOnly(c); err != nil {
				return auth.Registration{}, err
			}
			return s.Identity.Register(visitorContext(ctx, c), auth.Signup{TenantID: c.Tenant.ID, AutoConfirm: c.Tenant.Mode == mode.Sandbox,
				Email: in.Email, Password: in.Password, Name: in.Name})
		},
	}
}

func verifyEmail(s Services) Def[VerifyEmailInput, auth.Verified] {
	return Def[VerifyEmailInput, auth.Verified]{
		Name: ToolVerifyEmail, Title: "Confirm an email address", Group: ToolsetSignup, MinRole: actor.RoleUser, Public: true,
		Description: "Confirm a new account's address with the token of the emailed link, which works once: a used or expired " +
			"link is gone (410), an unknown one refused (401). With Cognito as identity provider, give the email and the code " +
			"Cognito emailed instead.",
		Method: http.MethodPost, Path: "/auth/verify",
		Preview: func(ctx context.Context, c *Call, in *VerifyEmailInput) (Preview, error) {
			return Preview{Effect: "confirm the address the link or code was sent to"}, nil
		},
		Handle: func(ctx context.Context, c *Call, in *VerifyEmailInput) (auth.Verified, error) {
			ctx = visitorContext(ctx, c)
			if in.Token != "" {
				return s.Identity.VerifyEmail(ctx, in.Token)
			}
			return s.Identity.ConfirmCode(ctx, in.Email, in.Code)
		},
	}
}

func resendVerification(s Services) Def[ResendInput, auth.Registration] {
	return Def[ResendInput, auth.Registration]{
		Name: ToolResendVerification, Title: "Send a new verification link", Group: ToolsetSignup, MinRole: actor.RoleUser, Public: true,
		Description: "Email a new verification link to an account whose address is not confirmed yet (with Cognito, have " +
			"Cognito send a new code). The answer is the same for every address; a few links an hour at most are sent.",
		Method: http.MethodPost, Path: "/auth/verify/resend", Status: http.StatusAccepted,
		Preview: func(ctx context.Context, c *Call, in *ResendInput) (Preview, error) {
			email, err := auth.NormalizeEmail(in.Email)
			return Preview{Effect: "email a new verification link to " + email + " if its account is not confirmed"}, err
		},
		Handle: func(ctx context.Context, c *Call, in *ResendInput) (auth.Registration, error) {
			return s.Identity.ResendVerification(visitorContext(ctx, c), in.Email)
		},
	}
}
