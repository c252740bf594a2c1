package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// Registration: email verification links, links to outside identity
// providers and OAuth sign-ins under way (auth.Repo).

// CreateVerification stores a verification link.
func (s *Store) CreateVerification(ctx context.Context, v auth.EmailVerification) error {
	_, err := s.exec(ctx, `INSERT INTO email_verifications (token_hash, user_id, created_at, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5)`, v.TokenHash, v.UserID, v.CreatedAt.UTC(), v.ExpiresAt.UTC(), nullTime(v.UsedAt))
	switch {
	case isUniqueViolation(err):
		return fault.Conflict("verification link already exists")
	case isForeignKeyViolation(err):
		return fault.NotFound("user", v.UserID)
	case err != nil:
		return fmt.Errorf("create verification link: %w", err)
	}
	return nil
}

// Verification finds a link by the hash of its token.
func (s *Store) Verification(ctx context.Context, hash string) (auth.EmailVerification, error) {
	var v auth.EmailVerification
	var used sql.NullTime
	err := s.queryRow(ctx, `SELECT token_hash, user_id, created_at, expires_at, used_at FROM email_verifications
		WHERE token_hash = $1`, hash).Scan(&v.TokenHash, &v.UserID, &v.CreatedAt, &v.ExpiresAt, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fault.NotFound("verification link", "")
	}
	if err != nil {
		return v, fmt.Errorf("read verification link: %w", err)
	}
	v.CreatedAt, v.ExpiresAt, v.UsedAt = v.CreatedAt.UTC(), v.ExpiresAt.UTC(), fromNull(used)
	return v, nil
}

// CountVerifications counts the links made for a user since t.
func (s *Store) CountVerifications(ctx context.Context, userID string, since time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM email_verifications WHERE user_id = $1 AND created_at >= $2`,
		userID, since.UTC()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count verification links: %w", err)
	}
	return n, nil
}

// ConfirmEmail uses a link and verifies its user's address. The first
// update is conditional, so of two uses at once exactly one succeeds.
func (s *Store) ConfirmEmail(ctx context.Context, hash string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE email_verifications SET used_at = $2
			WHERE token_hash = $1 AND used_at IS NULL RETURNING user_id`, hash, at.UTC()).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Conflict("verification link was already used")
		}
		if err != nil {
			return fmt.Errorf("use verification link: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_verified = TRUE, updated_at = $2 WHERE id = $1`,
			userID, at.UTC()); err != nil {
			return fmt.Errorf("verify user %s: %w", userID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE email_verifications SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`,
			userID, at.UTC()); err != nil {
			return fmt.Errorf("retire verification links of %s: %w", userID, err)
		}
		return nil
	})
}

// SetEmailVerified marks a user's address verified, and with dropPassword
// removes the password.
func (s *Store) SetEmailVerified(ctx context.Context, userID string, at time.Time, dropPassword bool) error {
	res, err := s.exec(ctx, `UPDATE users SET email_verified = TRUE, updated_at = $2,
		password_hash = CASE WHEN $3 THEN '' ELSE password_hash END WHERE id = $1`, userID, at.UTC(), dropPassword)
	if err != nil {
		return fmt.Errorf("verify user %s: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("user", userID)
	}
	return nil
}

// CreateIdentity links a user to an outside account.
func (s *Store) CreateIdentity(ctx context.Context, id auth.Identity) error {
	_, err := s.exec(ctx, `INSERT INTO user_identities (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id.Provider, id.Subject, id.UserID, id.Email, id.CreatedAt.UTC())
	switch {
	case isUniqueViolation(err):
		return fault.Conflict("this %s account is already linked to a user", id.Provider)
	case isForeignKeyViolation(err):
		return fault.NotFound("user", id.UserID)
	case err != nil:
		return fmt.Errorf("link %s identity: %w", id.Provider, err)
	}
	return nil
}

// Identity finds the link of a provider's subject.
func (s *Store) Identity(ctx context.Context, provider, subject string) (auth.Identity, error) {
	var id auth.Identity
	err := s.queryRow(ctx, `SELECT provider, subject, user_id, email, created_at FROM user_identities
		WHERE provider = $1 AND subject = $2`, provider, subject).Scan(&id.Provider, &id.Subject, &id.UserID, &id.Email, &id.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return id, fault.NotFound(provider+" identity", subject)
	}
	if err != nil {
		return id, fmt.Errorf("read %s identity: %w", provider, err)
	}
	id.CreatedAt = id.CreatedAt.UTC()
	return id, nil
}

// CreateOAuthState stores a sign-in under way, and deletes those expired
// before it began so the table holds only minutes of them.
func (s *Store) CreateOAuthState(ctx context.Context, st auth.OAuthState) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at < $1`, st.CreatedAt.UTC()); err != nil {
			return fmt.Errorf("prune oauth states: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, provider, verifier, client_ip, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, st.Hash, st.Provider, st.Verifier, st.ClientIP, st.CreatedAt.UTC(), st.ExpiresAt.UTC())
		if isUniqueViolation(err) {
			return fault.Conflict("oauth state already exists")
		}
		if err != nil {
			return fmt.Errorf("store oauth state: %w", err)
		}
		return nil
	})
}

// TakeOAuthState deletes and returns the sign-in of a state hash.
func (s *Store) TakeOAuthState(ctx context.Context, hash string) (auth.OAuthState, error) {
	var st auth.OAuthState
	err := s.queryRow(ctx, `DELETE FROM oauth_states WHERE state_hash = $1
		RETURNING state_hash, provider, verifier, client_ip, created_at, expires_at`, hash).
		Scan(&st.Hash, &st.Provider, &st.Verifier, &st.ClientIP, &st.CreatedAt, &st.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fault.NotFound("oauth state", "")
	}
	if err != nil {
		return st, fmt.Errorf("take oauth state: %w", err)
	}
	st.CreatedAt, st.ExpiresAt = st.CreatedAt.UTC(), st.ExpiresAt.UTC()
	return st, nil
}

// CountOAuthStates counts a client address's sign-ins under way begun
// since t.
func (s *Store) CountOAuthStates(ctx context.Context, clientIP string, since time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM oauth_states WHERE client_ip = $1 AND created_at >= $2`,
		clientIP, since.UTC()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count oauth states: %w", err)
	}
	return n, nil
}
