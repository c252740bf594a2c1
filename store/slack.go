package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
)

// SlackMessage answers the tenant of a decision posted to Slack and where
// its message is: the channel and the ts Slack gave it. A decision not
// posted yet is not found.
func (s *Store) SlackMessage(ctx context.Context, decisionID string) (tenantID, channel, ts string, err error) {
	err = s.queryRow(ctx, `SELECT tenant_id, channel, ts FROM slack_messages WHERE decision_id = $1`, decisionID).
		Scan(&tenantID, &channel, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", fault.NotFound("slack message of decision", decisionID)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("read the slack message of decision %s: %w", decisionID, err)
	}
	return tenantID, channel, ts, nil
}

// AddSlackMessage records where a decision's message was posted and the
// revision of the decision it shows. A decision already recorded keeps
// its first message (a conflict), so a second post is never mistaken for
// the one to update.
func (s *Store) AddSlackMessage(ctx context.Context, tenantID, decisionID, channel, ts string, revision int64, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO slack_messages (decision_id, tenant_id, channel, ts, revision, posted_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, decisionID, tenantID, channel, ts, revision, at.UTC())
	if isUniqueViolation(err) {
		return fault.Conflict("decision %s already has a Slack message", decisionID)
	}
	if err != nil {
		return fmt.Errorf("record the slack message of decision %s: %w", decisionID, err)
	}
	return nil
}

// ClaimSlackRevision marks a decision's message as showing revision,
// unless it already shows a later one, and reports whether it did: the
// caller then updates the message. The same revision is claimed again,
// so an update that failed can be tried again. A decision with no
// message claims nothing.
func (s *Store) ClaimSlackRevision(ctx context.Context, decisionID string, revision int64, at time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE slack_messages SET revision = $1, updated_at = $2 WHERE decision_id = $3 AND revision <= $1`,
		revision, at.UTC(), decisionID)
	if err != nil {
		return false, fmt.Errorf("claim revision %d of the slack message of decision %s: %w", revision, decisionID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SeeSlackSignature remembers the signature of a Slack request accepted
// at at and reports whether it was new; signatures seen before
// forgetBefore are forgotten first (their timestamps are too old to pass
// verification again).
func (s *Store) SeeSlackSignature(ctx context.Context, signature string, at, forgetBefore time.Time) (bool, error) {
	var fresh bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM slack_signatures WHERE seen_at < $1`, forgetBefore.UTC()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO slack_signatures (signature, seen_at) VALUES ($1, $2) ON CONFLICT (signature) DO NOTHING`,
			signature, at.UTC())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remember a slack request signature: %w", err)
	}
	return fresh, nil
}

// SetSlackUserID links a tenant's user to their Slack user id, or unlinks
// them with "". One Slack user is one user of a tenant: linking a second
// is a conflict.
func (s *Store) SetSlackUserID(ctx context.Context, tenantID, userID, slackUserID string) (auth.User, error) {
	var slackID sql.NullString
	if slackUserID != "" {
		slackID = sql.NullString{String: slackUserID, Valid: true}
	}
	res, err := s.exec(ctx, `UPDATE users SET slack_user_id = $1, updated_at = $2 WHERE id = $3 AND tenant_id = $4`,
		slackID, now(), userID, tenantID)
	if isUniqueViolation(err) {
		return auth.User{}, fault.Conflict("Slack user %s is already linked to another user of tenant %s", slackUserID, tenantID)
	}
	if err != nil {
		return auth.User{}, fmt.Errorf("link user %s to Slack: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.User{}, fault.NotFound("user", userID)
	}
	return s.UserByID(ctx, userID)
}

// UserBySlackID finds the user of a tenant linked to a Slack user id.
func (s *Store) UserBySlackID(ctx context.Context, tenantID, slackUserID string) (auth.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND slack_user_id = $2`, tenantID, slackUserID))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fault.NotFound("user of Slack user", slackUserID)
	}
	if err != nil {
		return u, fmt.Errorf("read the user of Slack user %s: %w", slackUserID, err)
	}
	return u, nil
}

// SlackDelivery reports how the decisions of a tenant (every tenant for
// "") created or posted since since reached Slack: the messages posted,
// the decisions that change something with no message yet, the oldest of
// those, and the latest message posted at all.
func (s *Store) SlackDelivery(ctx context.Context, tenantID string, since time.Time) (decision.SlackDelivery, error) {
	var d decision.SlackDelivery
	args := []any{since.UTC()}
	msgs, decs := "", ""
	if tenantID != "" {
		args = append(args, tenantID)
		msgs, decs = " AND tenant_id = $2", " AND d.tenant_id = $2"
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM slack_messages WHERE posted_at >= $1`+msgs, args...).Scan(&d.Posted); err != nil {
		return d, fmt.Errorf("count the slack messages posted: %w", err)
	}
	unposted := ` FROM agent_decisions d WHERE d.created_at >= $1` + decs + ` AND d.read_only = FALSE
		AND NOT EXISTS (SELECT 1 FROM slack_messages m WHERE m.decision_id = d.id)`
	if err := s.queryRow(ctx, `SELECT COUNT(*)`+unposted, args...).Scan(&d.Unposted); err != nil {
		return d, fmt.Errorf("count the decisions not posted to slack: %w", err)
	}
	var err error
	if d.OldestUnposted, err = s.firstTime(ctx, `SELECT d.created_at`+unposted+` ORDER BY d.created_at LIMIT 1`, args...); err != nil {
		return d, fmt.Errorf("read the oldest decision not posted to slack: %w", err)
	}
	last, lastArgs := `SELECT posted_at FROM slack_messages`, []any{}
	if tenantID != "" {
		last, lastArgs = last+` WHERE tenant_id = $1`, []any{tenantID}
	}
	if d.LastPostedAt, err = s.firstTime(ctx, last+` ORDER BY posted_at DESC LIMIT 1`, lastArgs...); err != nil {
		return d, fmt.Errorf("read the latest slack message: %w", err)
	}
	return d, nil
}
