package slack

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tools"
)

// Caller runs a tool call through the one guarded pipeline; the tools
// registry implements it.
type Caller interface {
	Call(ctx context.Context, req tools.Request) tools.Result
}

// Config is what the face reads of a tenant's slack.* parameters.
type Config struct {
	// Enabled is slack.enabled: the tenant's decisions are posted.
	Enabled  bool
	BotToken string
	// Channel is where decisions are posted (a name or an id).
	Channel string
	// SigningSecret verifies the requests Slack sends.
	SigningSecret string
}

// ConfigFrom reads the Slack parameters as a tenant in mode m sees them
// (tenantID "" and mode "" read the global values).
func ConfigFrom(s *params.Snapshot, tenantID string, m mode.Mode) Config {
	return Config{
		Enabled:       s.Bool(tenantID, m, "slack.enabled"),
		BotToken:      s.String(tenantID, m, "slack.bot_token"),
		Channel:       s.String(tenantID, m, "slack.channel"),
		SigningSecret: s.String(tenantID, m, "slack.signing_secret"),
	}
}

// Configs answers the Slack config a tenant reads now; tenantID "" answers
// the global one.
type Configs func(ctx context.Context, tenantID string) (Config, error)

// Messages keeps where each decision's message is; the store implements
// it.
type Messages interface {
	SlackMessage(ctx context.Context, decisionID string) (tenantID, channel, ts string, err error)
	AddSlackMessage(ctx context.Context, tenantID, decisionID, channel, ts string, revision int64, at time.Time) error
	ClaimSlackRevision(ctx context.Context, decisionID string, revision int64, at time.Time) (bool, error)
}

// Signatures remembers the signatures of the requests accepted, so a
// replay is refused; the store implements it.
type Signatures interface {
	SeeSlackSignature(ctx context.Context, signature string, at, forgetBefore time.Time) (bool, error)
}

// Users finds the platform user behind a Slack user; the store
// implements it.
type Users interface {
	UserBySlackID(ctx context.Context, tenantID, slackUserID string) (auth.User, error)
	UsersOfTenant(ctx context.Context, tenantID string) ([]auth.User, error)
}

// Auditor appends an audit record; the store implements it.
type Auditor interface {
	AppendAudit(ctx context.Context, r audit.Record) (int64, error)
}

// Deps are what the face needs.
type Deps struct {
	Tools      Caller
	Configs    Configs
	Messages   Messages
	Signatures Signatures
	Users      Users
	Audit      Auditor
	// APIURL is the Slack Web API's base URL ending in a slash; empty is
	// Slack's own. Tests point it at a slacktest server.
	APIURL string
	// HTTPClient calls the Slack API (default: 10 s timeout).
	HTTPClient *http.Client
	Now        func() time.Time
	Log        *slog.Logger
}

// Face posts decisions to Slack and serves Slack's interaction requests.
type Face struct {
	d Deps
}

// New returns the Slack face.
func New(d Deps) *Face {
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Face{d: d}
}

// client is a Slack API client acting with a tenant's bot token.
func (f *Face) client(token string) *slackgo.Client {
	opts := []slackgo.Option{slackgo.OptionHTTPClient(f.d.HTTPClient)}
	if f.d.APIURL != "" {
		opts = append(opts, slackgo.OptionAPIURL(f.d.APIURL))
	}
	return slackgo.New(token, opts...)
}

// now is the face's clock in UTC, to the microsecond the store keeps.
func (f *Face) now() time.Time { return f.d.Now().UTC().Truncate(time.Microsecond) }
