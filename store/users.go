package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

const userCols = `id, tenant_id, email, name, role, password_hash, email_verified, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (auth.User, error) {
	var u auth.User
	var role string
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.EmailVerified, &u.CreatedAt, &u.UpdatedAt)
	u.Role, u.CreatedAt, u.UpdatedAt = actor.Role(role), u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CreateUser inserts a user; the email is unique across the platform.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.TenantID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.EmailVerified, u.CreatedAt.UTC(), u.UpdatedAt.UTC())
	if isUniqueViolation(err) {
		return fault.Conflict("a user with email %s already exists", u.Email)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByEmail finds a user by normalized email.
func (s *Store) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fault.NotFound("user", email)
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// CountUsers counts a tenant's users holding role (any tenant when
// tenantID is "", any role when role is "").
func (s *Store) CountUsers(ctx context.Context, tenantID string, role actor.Role) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE ($1 = '' OR tenant_id = $1) AND ($2 = '' OR role = $2)`,
		tenantID, string(role)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UsersOfTenant lists a tenant's users by email.
func (s *Store) UsersOfTenant(ctx context.Context, tenantID string) ([]auth.User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 ORDER BY email`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetUserRole changes a user's role.
func (s *Store) SetUserRole(ctx context.Context, id string, role actor.Role) (auth.User, error) {
	res, err := s.exec(ctx, `UPDATE users SET role = $1, updated_at = $2 WHERE id = $3`, string(role), now(), id)
	if err != nil {
		return auth.User{}, fmt.Errorf("set role of user %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.User{}, fault.NotFound("user", id)
	}
	return s.UserByID(ctx, id)
}
