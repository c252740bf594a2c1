package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

// Identity: signing keys, refresh tokens, TOTP enrolments and API tokens
// (auth.Repo). Sealed bytes are stored as base64 text and string lists as
// JSON arrays, so both dialects keep plain TEXT columns.

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// isForeignKeyViolation reports a row referring to a missing parent on
// either backend.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23503") || strings.Contains(msg, "FOREIGN KEY constraint failed")
}

func jsonList(v []string) (string, error) {
	if v == nil {
		v = []string{}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id string) (auth.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fault.NotFound("user", id)
	}
	if err != nil {
		return u, fmt.Errorf("read user %s: %w", id, err)
	}
	return u, nil
}

// SigningKeys returns the active key and those retired after retiredAfter,
// newest first.
func (s *Store) SigningKeys(ctx context.Context, retiredAfter time.Time) ([]auth.SigningKey, error) {
	rows, err := s.query(ctx, `SELECT kid, private_key_sealed, created_at, retired_at FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid`, retiredAfter.UTC())
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	defer rows.Close()
	var out []auth.SigningKey
	for rows.Next() {
		var k auth.SigningKey
		var sealed string
		var retired sql.NullTime
		if err := rows.Scan(&k.KID, &sealed, &k.CreatedAt, &retired); err != nil {
			return nil, fmt.Errorf("scan signing key: %w", err)
		}
		if k.Sealed, err = base64.StdEncoding.DecodeString(sealed); err != nil {
			return nil, fmt.Errorf("signing key %s: stored key is not base64: %w", k.KID, err)
		}
		k.CreatedAt, k.RetiredAt = k.CreatedAt.UTC(), fromNull(retired)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddSigningKey makes k the active key; with retire it first retires the
// active one at k.CreatedAt.
func (s *Store) AddSigningKey(ctx context.Context, k auth.SigningKey, retire bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if retire {
			if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, k.CreatedAt.UTC()); err != nil {
				return fmt.Errorf("retire signing key: %w", err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, private_key_sealed, created_at, retired_at) VALUES ($1, $2, $3, NULL)`,
			k.KID, base64.StdEncoding.EncodeToString(k.Sealed), k.CreatedAt.UTC())
		if isUniqueViolation(err) {
			return fault.Conflict("another signing key became active at the same time")
		}
		if err != nil {
			return fmt.Errorf("add signing key %s: %w", k.KID, err)
		}
		return nil
	})
}

const refreshCols = `hash, family_id, user_id, amr, expires_at, used_at, revoked_at, created_at`

// CreateRefreshToken inserts the first token of a family.
func (s *Store) CreateRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	return insertRefreshToken(ctx, s.db, t)
}

func insertRefreshToken(ctx context.Context, x execer, t auth.RefreshToken) error {
	amr, err := jsonList(t.AMR)
	if err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	_, err = x.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.Hash, t.FamilyID, t.UserID, amr, t.ExpiresAt.UTC(), nullTime(t.UsedAt), nullTime(t.RevokedAt), t.CreatedAt.UTC())
	if isUniqueViolation(err) {
		return fault.Conflict("refresh token already exists")
	}
	if err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// RefreshToken reads a token by the hash of its value.
func (s *Store) RefreshToken(ctx context.Context, hash string) (auth.RefreshToken, error) {
	var t auth.RefreshToken
	var amr string
	var used, revoked sql.NullTime
	err := s.queryRow(ctx, `SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.FamilyID, &t.UserID, &amr, &t.ExpiresAt, &used, &revoked, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is not secret, but there is no reason to echo it.
		return t, fault.NotFound("refresh token", "")
	}
	if err != nil {
		return t, fmt.Errorf("read refresh token: %w", err)
	}
	if err := json.Unmarshal([]byte(amr), &t.AMR); err != nil {
		return t, fmt.Errorf("refresh token amr: %w", err)
	}
	t.ExpiresAt, t.CreatedAt = t.ExpiresAt.UTC(), t.CreatedAt.UTC()
	t.UsedAt, t.RevokedAt = fromNull(used), fromNull(revoked)
	return t, nil
}

// RotateRefreshToken marks oldHash used and inserts next in one
// transaction. The update is conditional, so of two concurrent rotations
// of one token exactly one succeeds and the other gets a conflict.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, usedAt time.Time, next auth.RefreshToken) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $2
			WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL`, oldHash, usedAt.UTC())
		if err != nil {
			return fmt.Errorf("use refresh token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Conflict("refresh token was already used or revoked")
		}
		return insertRefreshToken(ctx, tx, next)
	})
}

// RevokeRefreshFamily revokes every token of the family not yet revoked.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`,
		familyID, at.UTC()); err != nil {
		return fmt.Errorf("revoke refresh family %s: %w", familyID, err)
	}
	return nil
}

// DeleteExpiredRefreshTokens removes tokens that expired before t.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// UserMFA reads a user's TOTP enrolment.
func (s *Store) UserMFA(ctx context.Context, userID string) (auth.MFA, error) {
	m := auth.MFA{UserID: userID}
	var secret string
	err := s.queryRow(ctx, `SELECT secret_sealed, enabled, last_step, updated_at FROM user_mfa WHERE user_id = $1`, userID).
		Scan(&secret, &m.Enabled, &m.LastStep, &m.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fault.NotFound("mfa enrolment", userID)
	}
	if err != nil {
		return m, fmt.Errorf("read mfa of %s: %w", userID, err)
	}
	if m.Secret, err = base64.StdEncoding.DecodeString(secret); err != nil {
		return m, fmt.Errorf("mfa of %s: stored secret is not base64: %w", userID, err)
	}
	m.UpdatedAt = m.UpdatedAt.UTC()
	return m, nil
}

// PutUserMFA creates or replaces a user's enrolment.
func (s *Store) PutUserMFA(ctx context.Context, m auth.MFA) error {
	_, err := s.exec(ctx, `INSERT INTO user_mfa (user_id, secret_sealed, enabled, last_step, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, enabled = excluded.enabled,
			last_step = excluded.last_step, updated_at = excluded.updated_at`,
		m.UserID, base64.StdEncoding.EncodeToString(m.Secret), m.Enabled, m.LastStep, m.UpdatedAt.UTC())
	if isForeignKeyViolation(err) {
		return fault.NotFound("user", m.UserID)
	}
	if err != nil {
		return fmt.Errorf("put mfa of %s: %w", m.UserID, err)
	}
	return nil
}

// UseMFAStep records step as the last accepted one, and enables MFA when
// enable is set; a step not later than the last is a conflict (a replayed
// code), and so is a user with no enrolment.
func (s *Store) UseMFAStep(ctx context.Context, userID string, step int64, enable bool, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE user_mfa SET last_step = $2, enabled = (enabled OR $3), updated_at = $4
		WHERE user_id = $1 AND last_step < $2`, userID, step, enable, at.UTC())
	if err != nil {
		return fmt.Errorf("use mfa step of %s: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.Conflict("mfa code was already used")
	}
	return nil
}

// DeleteUserMFA removes a user's enrolment.
func (s *Store) DeleteUserMFA(ctx context.Context, userID string) error {
	res, err := s.exec(ctx, `DELETE FROM user_mfa WHERE user_id = $1`, userID)
	if err != nil {
		return fmt.Errorf("delete mfa of %s: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("mfa enrolment", userID)
	}
	return nil
}

const apiTokenCols = `id, tenant_id, name, role, scopes, secret_hash, created_by, created_at, expires_at, revoked_at, last_used_at`

func scanAPIToken(row interface{ Scan(...any) error }) (auth.APIToken, error) {
	var t auth.APIToken
	var role, scopes string
	var expires, revoked, used sql.NullTime
	if err := row.Scan(&t.ID, &t.TenantID, &t.Name, &role, &scopes, &t.SecretHash, &t.CreatedBy, &t.CreatedAt,
		&expires, &revoked, &used); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("api token %s scopes: %w", t.ID, err)
	}
	t.Role, t.CreatedAt = actor.Role(role), t.CreatedAt.UTC()
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromNull(expires), fromNull(revoked), fromNull(used)
	return t, nil
}

// CreateAPIToken inserts a token.
func (s *Store) CreateAPIToken(ctx context.Context, t auth.APIToken) error {
	scopes, err := jsonList(t.Scopes)
	if err != nil {
		return fmt.Errorf("create api token: %w", err)
	}
	_, err = s.exec(ctx, `INSERT INTO api_tokens (`+apiTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.ID, t.TenantID, t.Name, string(t.Role), scopes, t.SecretHash, t.CreatedBy, t.CreatedAt.UTC(),
		nullTime(t.ExpiresAt), nullTime(t.RevokedAt), nullTime(t.LastUsedAt))
	switch {
	case isUniqueViolation(err):
		return fault.Conflict("api token %s already exists", t.ID)
	case isForeignKeyViolation(err):
		return fault.NotFound("tenant", t.TenantID)
	case err != nil:
		return fmt.Errorf("create api token: %w", err)
	}
	return nil
}

// APIToken reads one token.
func (s *Store) APIToken(ctx context.Context, id string) (auth.APIToken, error) {
	t, err := scanAPIToken(s.queryRow(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fault.NotFound("api token", id)
	}
	if err != nil {
		return t, fmt.Errorf("read api token %s: %w", id, err)
	}
	return t, nil
}

// APITokens lists a tenant's tokens, newest first.
func (s *Store) APITokens(ctx context.Context, tenantID string) ([]auth.APIToken, error) {
	rows, err := s.query(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	var out []auth.APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan api token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes a token; revoking it again keeps the first time.
//
// It bumps the configuration revision in the same transaction, so every
// instance drops its cached copy of the token at once.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, at.UTC())
		if err != nil {
			return fmt.Errorf("revoke api token %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound("api token", id)
		}
		return bumpParamRevision(ctx, s, tx)
	})
}

// TouchAPIToken sets last_used_at to at unless it is already after
// notBefore.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at, notBefore time.Time) error {
	if _, err := s.exec(ctx, `UPDATE api_tokens SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`, id, at.UTC(), notBefore.UTC()); err != nil {
		return fmt.Errorf("touch api token %s: %w", id, err)
	}
	return nil
}

// loginFailureKeep is how long failure rows are kept: far beyond any
// sensible lockout window.
const loginFailureKeep = 24 * time.Hour

// RecordLoginFailure implements auth.Repo; it also drops the keys' rows
// older than a day, so the table stays small without a sweeper.
func (s *Store) RecordLoginFailure(ctx context.Context, keys []string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1 AND at < $2`, k, at.Add(-loginFailureKeep).UTC()); err != nil {
				return fmt.Errorf("prune login failures: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2)`, k, at.UTC()); err != nil {
				return fmt.Errorf("record login failure: %w", err)
			}
		}
		return nil
	})
}

// LoginFailures implements auth.Repo.
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2`, key, since.UTC()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count login failures: %w", err)
	}
	return n, nil
}

// ClearLoginFailures implements auth.Repo.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM login_failures WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
