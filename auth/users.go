package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// NewUser is what an admin gives to create a user.
type NewUser struct {
	TenantID string
	Email    string
	Name     string
	Role     actor.Role
	Password string
	// Verified skips email verification (admins creating users, SANDBOX).
	Verified bool
}

// CreateUser validates and stores a user with an argon2id password hash.
// A creator may not grant a role above its own.
func (s *Service) CreateUser(ctx context.Context, by actor.Actor, nu NewUser) (User, error) {
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return User{}, err
	}
	if !nu.Role.Valid() {
		return User{}, fault.Invalid("role", "unknown role %q: want user, pro_user, enterprise_user or pod_admin", nu.Role)
	}
	if !by.Role.AtLeast(nu.Role) {
		return User{}, fault.Forbidden("a %s may not grant the role %s", by.Role, nu.Role)
	}
	if nu.Name == "" || len(nu.Name) > 100 {
		return User{}, fault.Invalid("name", "want 1–100 characters")
	}
	if err := s.PasswordPolicy().Check(nu.Password, email, nu.Name); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(nu.Password)
	if err != nil {
		return User{}, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := User{ID: uuid.NewString(), TenantID: nu.TenantID, Email: email, Name: nu.Name, Role: nu.Role,
		PasswordHash: hash, EmailVerified: nu.Verified, CreatedAt: now, UpdatedAt: now}
	if err := s.repo.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// Users lists a tenant's users.
func (s *Service) Users(ctx context.Context, tenantID string) ([]User, error) {
	return s.repo.UsersOfTenant(ctx, tenantID)
}

// SetRole changes a user's role within tenantID. A caller may not grant a
// role above its own, nor change its own role.
func (s *Service) SetRole(ctx context.Context, by actor.Actor, tenantID, userID string, role actor.Role) (User, error) {
	if !role.Valid() {
		return User{}, fault.Invalid("role", "unknown role %q", role)
	}
	if !by.Role.AtLeast(role) {
		return User{}, fault.Forbidden("a %s may not grant the role %s", by.Role, role)
	}
	if by.Kind == actor.KindUser && by.ID == userID {
		return User{}, fault.Forbidden("nobody may change their own role")
	}
	u, err := s.repo.UserByID(ctx, userID)
	if err != nil || u.TenantID != tenantID {
		return User{}, fault.NotFound("user", userID)
	}
	return s.repo.SetUserRole(ctx, userID, role)
}

// Person is the user who answers for what ownerID owns in tenantID: the
// user of that id, or for an API token the user who created it. Mail
// about a pod goes to this person.
func (s *Service) Person(ctx context.Context, tenantID, ownerID string) (User, error) {
	u, err := s.repo.UserByID(ctx, ownerID)
	if fault.KindOf(err) == fault.KindNotFound {
		var t APIToken
		if t, err = s.apiToken(ctx, ownerID); err == nil {
			u, err = s.repo.UserByID(ctx, t.CreatedBy)
		}
	}
	if err != nil {
		return User{}, wrapRepo("find the person of "+ownerID, err)
	}
	if u.TenantID != tenantID {
		return User{}, fault.NotFound("user", ownerID)
	}
	return u, nil
}
