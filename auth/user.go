package auth

import (
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// User is a person who signs in.
type User struct {
	ID            string     `json:"id"`
	TenantID      string     `json:"tenant_id"`
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Role          actor.Role `json:"role"`
	PasswordHash  string     `json:"-"`
	EmailVerified bool       `json:"email_verified"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// NormalizeEmail validates an address and returns it lower-cased.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", fault.Invalid("email", "%q is not an email address", email)
	}
	return email, nil
}

// CheckPasswordStrength enforces R7.2: at least 12 characters with a
// letter and a digit or symbol, and not the email itself.
func CheckPasswordStrength(password, email string) error {
	if len(password) < 12 {
		return fault.Invalid("password", "must be at least 12 characters")
	}
	if len(password) > 256 {
		return fault.Invalid("password", "must be at most 256 characters")
	}
	var letter, other bool
	for _, r := range password {
		switch {
		case unicode.IsLetter(r):
			letter = true
		default:
			other = true
		}
	}
	if !letter || !other {
		return fault.Invalid("password", "must mix letters with digits or symbols")
	}
	if strings.EqualFold(password, email) {
		return fault.Invalid("password", "must not be the email address")
	}
	return nil
}
