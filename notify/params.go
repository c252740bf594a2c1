package notify

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// The parameters a tenant chooses its notifications with.
const (
	ParamChannels      = "agent.notify_channels"
	ParamWebhookURL    = "agent.notify_webhook_url"
	ParamWebhookSecret = "agent.notify_webhook_secret"
	ParamOn            = "agent.notify_on"
)

// Channel is a way of telling a tenant's admins.
type Channel string

// The channels.
const (
	// Email mails every POD Admin of the tenant.
	Email Channel = "email"
	// Webhook posts the event, signed, to the tenant's URL.
	Webhook Channel = "webhook"
	// Slack posts what the agent tells its admins (notify_admin) to the
	// tenant's Slack channel; its decisions are posted there by the Slack
	// face, with their buttons, whatever the channels.
	Slack Channel = "slack"
)

// Channels lists every channel a tenant may choose.
var Channels = []Channel{Email, Webhook, Slack}

// defaultOn are the decision statuses that notify unless a tenant
// chooses others: what waits for an admin, and what ran.
var defaultOn = []decision.Status{decision.StatusAwaitingApproval, decision.StatusExecuted, decision.StatusFailed}

// Params declares the notification parameters. Each tenant sets its own.
func Params() []params.Spec {
	on := make([]string, len(defaultOn))
	for i, s := range defaultOn {
		on[i] = string(s)
	}
	statuses := make([]string, len(decision.Statuses))
	for i, s := range decision.Statuses {
		statuses[i] = string(s)
	}
	return []params.Spec{
		{Key: ParamChannels, Type: params.TypeString, Default: string(Email), Affects: params.AffectsBoth, Group: "agent",
			Description: "How the tenant's POD Admins are told what the agent does and what it has to say: a comma-separated list of " +
				"email (every POD Admin of the tenant), webhook (a signed POST to agent.notify_webhook_url) and slack (what the agent tells its " +
				"admins, posted to slack.channel; its decisions are posted there with slack.enabled whatever this says); empty tells no one.",
			Rules: []params.Rule{listOf("must be a comma-separated list of email, webhook and slack", func(s string) bool {
				return slices.Contains(Channels, Channel(s))
			})}},
		{Key: ParamWebhookURL, Type: params.TypeURL, Affects: params.AffectsBoth, Group: "agent",
			Description: "Where the webhook channel posts each notification: the event as CloudEvents JSON, signed in the header " +
				"X-Gpubroker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under agent.notify_webhook_secret>. " +
				"https, or http to a loopback address only.",
			Rules: []params.Rule{{Desc: "must be an https URL, or http to a loopback address (localhost, 127.0.0.1, ::1)",
				Check: func(_ mode.Mode, v params.Value) bool { return v.String() == "" || CheckWebhookURL(v.String()) == nil }}}},
		{Key: ParamWebhookSecret, Type: params.TypeSecret, Affects: params.AffectsBoth, Group: "agent",
			Description: "Secret the webhook channel signs each request with (HMAC-SHA256); the receiver checks the signature with it."},
		{Key: ParamOn, Type: params.TypeString, Default: strings.Join(on, ","), Affects: params.AffectsBoth, Group: "agent",
			Description: "Which statuses of the agent's decisions notify, as a comma-separated list of " + strings.Join(statuses, ", ") + ".",
			Rules: []params.Rule{listOf("must be a comma-separated list of decision statuses", func(s string) bool {
				return decision.Status(s).Valid()
			})}},
	}
}

// listOf is the rule of a comma-separated list whose every item is ok.
func listOf(desc string, ok func(string) bool) params.Rule {
	return params.Rule{Desc: desc, Check: func(_ mode.Mode, v params.Value) bool {
		for _, item := range items(v.String()) {
			if !ok(item) {
				return false
			}
		}
		return true
	}}
}

// items splits a comma-separated list, dropping blanks.
func items(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// CheckWebhookURL refuses a webhook URL that is not https, unless it is
// http to a loopback address (a receiver on the same machine, in
// development and tests).
func CheckWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return errBadURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return errBadURL
}

// Settings are a tenant's notification parameters.
type Settings struct {
	Channels      []Channel
	WebhookURL    string
	WebhookSecret string
	On            []decision.Status
}

// SettingsFrom reads a tenant's settings in mode m.
func SettingsFrom(s *params.Snapshot, tenantID string, m mode.Mode) Settings {
	out := Settings{WebhookURL: s.String(tenantID, m, ParamWebhookURL), WebhookSecret: s.String(tenantID, m, ParamWebhookSecret)}
	for _, c := range items(s.String(tenantID, m, ParamChannels)) {
		out.Channels = append(out.Channels, Channel(c))
	}
	for _, st := range items(s.String(tenantID, m, ParamOn)) {
		out.On = append(out.On, decision.Status(st))
	}
	return out
}

// Has reports whether the tenant chose channel c.
func (s Settings) Has(c Channel) bool { return slices.Contains(s.Channels, c) }

// Notifies reports whether a decision reaching status st notifies.
func (s Settings) Notifies(st decision.Status) bool { return slices.Contains(s.On, st) }
