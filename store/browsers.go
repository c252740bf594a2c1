package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

const browserColumns = `id, user_id, tenant_id, access_token, access_expires, refresh_sealed, csrf, created_at, expires_at`

// CreateBrowserSession stores a signed-in browser's session.
func (s *Store) CreateBrowserSession(ctx context.Context, b auth.BrowserSession) error {
	_, err := s.exec(ctx, `INSERT INTO web_sessions (`+browserColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		b.ID, b.UserID, b.TenantID, b.AccessToken, b.AccessExpires.UTC(), base64.StdEncoding.EncodeToString(b.RefreshSealed), b.CSRF,
		b.CreatedAt.UTC(), b.ExpiresAt.UTC())
	if err != nil {
		return fmt.Errorf("create browser session: %w", err)
	}
	return nil
}

// BrowserSession reads the session of id that has not expired at now.
func (s *Store) BrowserSession(ctx context.Context, id string, now time.Time) (auth.BrowserSession, error) {
	var b auth.BrowserSession
	var sealed string
	err := s.queryRow(ctx, `SELECT `+browserColumns+` FROM web_sessions WHERE id = $1 AND expires_at > $2`, id, now.UTC()).
		Scan(&b.ID, &b.UserID, &b.TenantID, &b.AccessToken, &b.AccessExpires, &sealed, &b.CSRF, &b.CreatedAt, &b.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fault.NotFound("session", "")
	}
	if err != nil {
		return b, fmt.Errorf("read browser session: %w", err)
	}
	if b.RefreshSealed, err = base64.StdEncoding.DecodeString(sealed); err != nil {
		return b, fmt.Errorf("read browser session: %w", err)
	}
	b.AccessExpires, b.CreatedAt, b.ExpiresAt = b.AccessExpires.UTC(), b.CreatedAt.UTC(), b.ExpiresAt.UTC()
	return b, nil
}

// RenewBrowserSession keeps the tokens a refresh gave the session, if it
// still holds the access token it was read with: of two renewals racing,
// the first is kept and the second is a conflict.
func (s *Store) RenewBrowserSession(ctx context.Context, b auth.BrowserSession, previousAccess string) error {
	res, err := s.exec(ctx, `UPDATE web_sessions SET access_token = $1, access_expires = $2, refresh_sealed = $3, expires_at = $4
		WHERE id = $5 AND access_token = $6`,
		b.AccessToken, b.AccessExpires.UTC(), base64.StdEncoding.EncodeToString(b.RefreshSealed), b.ExpiresAt.UTC(), b.ID, previousAccess)
	if err != nil {
		return fmt.Errorf("renew browser session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.Conflict("the session was renewed meanwhile")
	}
	return nil
}

// DeleteBrowserSession ends a session.
func (s *Store) DeleteBrowserSession(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, `DELETE FROM web_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete browser session: %w", err)
	}
	return nil
}
