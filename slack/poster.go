package slack

import (
	"context"
	"errors"
	"fmt"

	slackgo "github.com/slack-go/slack"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
)

// Show brings d's message in its tenant's channel up to date: it posts
// the message the first time the tenant's decision is seen and updates
// it afterwards, unless it already shows a later revision. A tenant
// without slack.enabled, and the agent's reads, are skipped. An error means Slack or the store did
// not answer: trying again is safe.
func (f *Face) Show(ctx context.Context, d decision.Decision) error {
	// A read changes nothing and waits for nobody: it is not posted.
	if d.ReadOnly {
		return nil
	}
	cfg, on, err := f.config(ctx, d.TenantID)
	if err != nil || !on {
		return err
	}
	_, channel, ts, err := f.d.Messages.SlackMessage(ctx, d.ID)
	if fault.KindOf(err) == fault.KindNotFound {
		return f.post(ctx, cfg, d)
	}
	if err != nil {
		return err
	}
	return f.update(ctx, cfg.BotToken, channel, ts, d)
}

// post posts d's first message and records where it went.
func (f *Face) post(ctx context.Context, cfg Config, d decision.Decision) error {
	channel, ts, err := f.client(cfg.BotToken).PostMessageContext(ctx, cfg.Channel,
		slackgo.MsgOptionText(Summary(d), false), slackgo.MsgOptionBlocks(Render(d)...))
	if err != nil {
		return fmt.Errorf("post decision %s to Slack channel %s: %w", d.ID, cfg.Channel, err)
	}
	if err := f.d.Messages.AddSlackMessage(ctx, d.TenantID, d.ID, channel, ts, d.Revision, f.now()); err != nil {
		return fmt.Errorf("record the Slack message of decision %s: %w", d.ID, err)
	}
	f.d.Log.InfoContext(ctx, "decision posted to Slack", "tenant", d.TenantID, "decision", d.ID, "status", d.Status,
		"channel", channel, "ts", ts)
	return nil
}

// update re-renders d's message, unless it shows a later revision.
func (f *Face) update(ctx context.Context, token, channel, ts string, d decision.Decision) error {
	claimed, err := f.d.Messages.ClaimSlackRevision(ctx, d.ID, d.Revision, f.now())
	if err != nil || !claimed {
		return err
	}
	if _, _, _, err := f.client(token).UpdateMessageContext(ctx, channel, ts,
		slackgo.MsgOptionText(Summary(d), false), slackgo.MsgOptionBlocks(Render(d)...)); err != nil {
		return fmt.Errorf("update the Slack message of decision %s: %w", d.ID, err)
	}
	f.d.Log.InfoContext(ctx, "decision updated in Slack", "tenant", d.TenantID, "decision", d.ID, "status", d.Status,
		"revision", d.Revision)
	return nil
}

// Final reports whether an error of Show will not heal by trying the
// same call again: settings missing, or Slack refusing the call itself
// (a bad token, a channel the bot is not in). Slack being down, slow or
// limiting the rate is worth waiting for.
func Final(err error) bool {
	if fault.KindOf(err) == fault.KindUnavailable || fault.KindOf(err) == fault.KindInvalid {
		return true
	}
	var refused slackgo.SlackErrorResponse
	if errors.As(err, &refused) {
		switch refused.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return false
		}
		return true
	}
	return false
}

// PostText posts a line of text to the tenant's channel (what the agent
// tells its admins): nothing for a tenant without slack.enabled.
func (f *Face) PostText(ctx context.Context, tenantID, text string) error {
	cfg, on, err := f.config(ctx, tenantID)
	if err != nil || !on {
		return err
	}
	if _, _, err := f.client(cfg.BotToken).PostMessageContext(ctx, cfg.Channel, slackgo.MsgOptionText(text, false)); err != nil {
		return fmt.Errorf("post to Slack channel %s: %w", cfg.Channel, err)
	}
	return nil
}

// config is a tenant's Slack settings and whether it posts at all; on
// without a token or channel is an error no retry heals.
func (f *Face) config(ctx context.Context, tenantID string) (Config, bool, error) {
	cfg, err := f.d.Configs(ctx, tenantID)
	if err != nil {
		return cfg, false, fmt.Errorf("read the Slack settings of tenant %s: %w", tenantID, err)
	}
	if !cfg.Enabled {
		return cfg, false, nil
	}
	if cfg.BotToken == "" || cfg.Channel == "" {
		return cfg, false, fault.Unavailable("slack.enabled is on for tenant %s but slack.bot_token or slack.channel is empty", tenantID)
	}
	return cfg, true, nil
}
