package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
)

// EventAdminNotified is the event of something the agent tells its
// admins (notify_admin): its key is the tenant, its payload a Notice. It
// goes to the agent domain's topic beside the decision events.
const EventAdminNotified events.Type = "agent.admin_notified"

// Severity is how much a notice matters.
type Severity string

// The severities of a notice.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity, least first.
var Severities = []Severity{SeverityInfo, SeverityWarning, SeverityCritical}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	return s == SeverityInfo || s == SeverityWarning || s == SeverityCritical
}

// Notice is what the agent tells a tenant's admins.
type Notice struct {
	Subject  string   `json:"subject"`
	Message  string   `json:"message"`
	Severity Severity `json:"severity"`
	// By is who told them (the agent, acting for an admin).
	By actor.Actor `json:"by"`
}

// Check refuses a notice without a subject or message, or with an
// unknown severity.
func (n Notice) Check() error {
	switch {
	case strings.TrimSpace(n.Subject) == "":
		return fault.Invalid("subject", "a notice needs a subject")
	case len(n.Subject) > 200:
		return fault.Invalid("subject", "at most 200 bytes, got %d", len(n.Subject))
	case strings.TrimSpace(n.Message) == "":
		return fault.Invalid("message", "a notice needs a message")
	case len(n.Message) > 10_000:
		return fault.Invalid("message", "at most 10000 bytes, got %d", len(n.Message))
	case !n.Severity.Valid():
		return fault.Invalid("severity", "want info, warning or critical, got %q", n.Severity)
	}
	return nil
}

// Users lists a tenant's users; the store implements it.
type Users interface {
	UsersOfTenant(ctx context.Context, tenantID string) ([]auth.User, error)
}

// Outbox joins calls into one transaction and writes events to the
// outbox in it; the store implements it.
type Outbox interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	Enqueue(ctx context.Context, es ...events.Event) error
}

// Mailer asks for mail (mail.Service).
type Mailer interface {
	Send(ctx context.Context, tenantID, to string, kind mail.Kind, data any) error
}

// Chat posts a line of text to a tenant's chat channel.
type Chat interface {
	PostText(ctx context.Context, tenantID, text string) error
}

// Options tune a Notifier.
type Options struct {
	// Settings reads a tenant's notification parameters as they are now
	// (SettingsFrom over the current snapshot in the tenant's mode).
	Settings func(ctx context.Context, tenantID string) Settings
	// BaseURL is the root of the links sent (platform.base_url).
	BaseURL func() string
	// Client posts webhooks; a client with WebhookTimeout when nil.
	Client *http.Client
	// Chat, when set, is told each notification too.
	Chat Chat
	// OnCommit is called once a notice was written to the outbox (the
	// relay's Nudge).
	OnCommit func()
	Now      func() time.Time
	Log      *slog.Logger
}

// WebhookTimeout bounds one webhook request.
const WebhookTimeout = 10 * time.Second

// Notifier tells a tenant's admins on the channels it chose.
type Notifier struct {
	users  Users
	outbox Outbox
	mail   Mailer
	opt    Options
}

// New returns a Notifier.
func New(users Users, outbox Outbox, mailer Mailer, opt Options) *Notifier {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: WebhookTimeout}
	}
	if opt.BaseURL == nil {
		opt.BaseURL = func() string { return "" }
	}
	return &Notifier{users: users, outbox: outbox, mail: mailer, opt: opt}
}

// Tell writes a notice for tenantID's admins to the outbox; the consumer
// of the agent topic delivers it on every channel the tenant chose.
func (n *Notifier) Tell(ctx context.Context, tenantID string, notice Notice) (events.Event, error) {
	if err := notice.Check(); err != nil {
		return events.Event{}, err
	}
	e, err := events.New(EventAdminNotified, tenantID, tenantID, notice, n.opt.Now())
	if err != nil {
		return events.Event{}, err
	}
	if err := n.outbox.InTx(ctx, func(ctx context.Context) error { return n.outbox.Enqueue(ctx, e) }); err != nil {
		return events.Event{}, fmt.Errorf("notify the admins of %s: %w", tenantID, err)
	}
	if n.opt.OnCommit != nil {
		n.opt.OnCommit()
	}
	return e, nil
}

// Reach is who a notification of a tenant would reach now: its channels
// and, by email, how many POD Admins.
type Reach struct {
	Channels []Channel `json:"channels"`
	Admins   int       `json:"admins"`
}

// Reach says who a notification of tenantID would reach now.
func (n *Notifier) Reach(ctx context.Context, tenantID string) (Reach, error) {
	s := n.opt.Settings(ctx, tenantID)
	r := Reach{Channels: []Channel{}}
	for _, c := range Channels {
		if s.Has(c) && (c != Webhook || s.WebhookURL != "") {
			r.Channels = append(r.Channels, c)
		}
	}
	if s.Has(Email) {
		admins, err := n.admins(ctx, tenantID)
		if err != nil {
			return r, err
		}
		r.Admins = len(admins)
	}
	return r, nil
}

// Delivery is what one notification asks of one channel. Send may be
// called again after it failed; an error of kind invalid will fail
// every time.
type Delivery struct {
	Channel Channel
	Send    func(ctx context.Context) error
}

// Notification is one record of the agent topic made into what each
// channel must do.
type Notification struct {
	EventID    string
	Type       events.Type
	TenantID   string
	Deliveries []Delivery
}

// Deliveries reads one record of the agent topic (a CloudEvent) and
// answers what each of the tenant's channels must do: nothing for an
// event that is not a notification or a decision in a status the
// tenant is not told of.
func (n *Notifier) Deliveries(ctx context.Context, raw []byte) (Notification, error) {
	var ce events.CloudEvent
	if err := json.Unmarshal(raw, &ce); err != nil {
		return Notification{}, fault.Invalid("event", "not a CloudEvent: %v", err)
	}
	out := Notification{EventID: ce.ID, Type: ce.Type, TenantID: ce.Tenant}
	var m message
	decided := false
	switch {
	case ce.Type == EventAdminNotified:
		var notice Notice
		if err := json.Unmarshal(ce.Data, &notice); err != nil {
			return out, fault.Invalid("event", "%s %s carries no notice: %v", ce.Type, ce.ID, err)
		}
		m = n.noticeMessage(notice)
	case strings.HasPrefix(string(ce.Type), "agent.decision_"):
		var mv decision.Moved
		if err := json.Unmarshal(ce.Data, &mv); err != nil {
			return out, fault.Invalid("event", "%s %s carries no decision: %v", ce.Type, ce.ID, err)
		}
		if out.TenantID == "" {
			out.TenantID = mv.Decision.TenantID
		}
		if !n.opt.Settings(ctx, out.TenantID).Notifies(mv.Decision.Status) {
			return out, nil
		}
		m = n.decisionMessage(mv)
		decided = true
		// What leaves the platform is the decision's summary: its
		// arguments and result may hold what the tenant keeps to itself.
		data, err := json.Marshal(m.summary)
		if err != nil {
			return out, fmt.Errorf("encode decision %s: %w", mv.Decision.ID, err)
		}
		ce.Data = data
	default:
		return out, nil
	}
	if out.TenantID == "" {
		return out, fault.Invalid("event", "%s %s names no tenant", ce.Type, ce.ID)
	}
	s := n.opt.Settings(ctx, out.TenantID)
	tenantID := out.TenantID
	if s.Has(Email) {
		out.Deliveries = append(out.Deliveries, Delivery{Channel: Email, Send: func(ctx context.Context) error {
			return n.email(ctx, tenantID, m)
		}})
	}
	if s.Has(Webhook) {
		body, err := json.Marshal(ce)
		if err != nil {
			return out, fmt.Errorf("encode event %s: %w", ce.ID, err)
		}
		out.Deliveries = append(out.Deliveries, Delivery{Channel: Webhook, Send: func(ctx context.Context) error {
			// The URL and secret are read again at each try: a fixed
			// setting takes effect on the next one.
			return n.post(ctx, n.opt.Settings(ctx, tenantID), ce.ID, body)
		}})
	}
	if n.opt.Chat != nil && s.Has(Slack) && !decided {
		out.Deliveries = append(out.Deliveries, Delivery{Channel: Slack, Send: func(ctx context.Context) error {
			return n.opt.Chat.PostText(ctx, tenantID, m.text)
		}})
	}
	return out, nil
}

// message is one notification as each channel says it.
type message struct {
	kind mail.Kind
	// data is the mail's data for an admin of that name.
	data func(name string) any
	// text is the one line a chat shows.
	text string
	// summary is what a webhook carries of a decision.
	summary any
}

// DecisionSummary is the data of a decision event as the webhook sends
// it: the decision without its arguments, result and thoughts, and a link
// to it.
type DecisionSummary struct {
	ID        string           `json:"id"`
	TenantID  string           `json:"tenant_id"`
	TaskID    string           `json:"task_id"`
	Headline  string           `json:"headline"`
	Tool      string           `json:"tool"`
	Status    decision.Status  `json:"status"`
	From      decision.Status  `json:"from,omitempty"`
	Preview   decision.Preview `json:"preview"`
	Verdict   decision.Verdict `json:"verdict"`
	Error     string           `json:"error,omitempty"`
	DecidedBy string           `json:"decided_by,omitempty"`
	Actor     actor.Actor      `json:"actor"`
	UpdatedAt time.Time        `json:"updated_at"`
	Link      string           `json:"link"`
}

func (n *Notifier) decisionMessage(mv decision.Moved) message {
	d := mv.Decision
	link := n.opt.BaseURL() + "/agent/decisions/" + url.PathEscape(d.ID)
	headline := d.Headline
	if headline == "" {
		headline = d.Tool
	}
	status := strings.ReplaceAll(string(d.Status), "_", " ")
	cost := "USD " + d.Preview.Cost.Decimal()
	return message{
		kind: mail.KindAgentAction,
		data: func(name string) any {
			return mail.AgentAction{Name: name, Headline: headline, Tool: d.Tool, Status: status, Cost: cost,
				Effect: d.Preview.Effect, Error: d.Error, Link: link}
		},
		text: fmt.Sprintf("Agent decision %s: %s (%s, %s) %s", status, headline, d.Tool, cost, link),
		summary: DecisionSummary{ID: d.ID, TenantID: d.TenantID, TaskID: d.TaskID, Headline: d.Headline, Tool: d.Tool, Status: d.Status,
			From: mv.From, Preview: d.Preview, Verdict: d.Verdict, Error: d.Error, DecidedBy: d.DecidedBy, Actor: mv.Actor,
			UpdatedAt: d.UpdatedAt, Link: link},
	}
}

func (n *Notifier) noticeMessage(notice Notice) message {
	headline := notice.Subject
	if notice.Severity != SeverityInfo {
		headline = strings.ToUpper(string(notice.Severity[:1])) + string(notice.Severity[1:]) + ": " + notice.Subject
	}
	link := ""
	if base := n.opt.BaseURL(); base != "" {
		link = base + "/agent"
	}
	return message{
		kind: mail.KindAgentNotification,
		data: func(name string) any {
			return mail.AgentNotification{Name: name, Headline: headline, Body: notice.Message, Link: link}
		},
		text: "Agent: " + headline + "\n" + notice.Message,
	}
}

// admins are the POD Admins of a tenant.
func (n *Notifier) admins(ctx context.Context, tenantID string) ([]auth.User, error) {
	users, err := n.users.UsersOfTenant(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list the admins of %s: %w", tenantID, err)
	}
	var out []auth.User
	for _, u := range users {
		if u.Role == actor.RolePodAdmin {
			out = append(out, u)
		}
	}
	return out, nil
}

// email asks for one message to each POD Admin of the tenant, all in one
// transaction: a try that fails leaves none asked for.
func (n *Notifier) email(ctx context.Context, tenantID string, m message) error {
	admins, err := n.admins(ctx, tenantID)
	if err != nil {
		return err
	}
	if len(admins) == 0 {
		n.opt.Log.WarnContext(ctx, "no POD Admin to email a notification to", "tenant", tenantID, "kind", string(m.kind))
		return nil
	}
	return n.outbox.InTx(ctx, func(ctx context.Context) error {
		for _, a := range admins {
			if err := n.mail.Send(ctx, tenantID, a.Email, m.kind, m.data(a.Name)); err != nil {
				return fmt.Errorf("mail admin %s: %w", a.ID, err)
			}
		}
		return nil
	})
}

// SignatureHeader is the header a webhook request is signed in.
const SignatureHeader = "X-Gpubroker-Signature"

// post sends body to the tenant's webhook, signed at the time of the try.
// A refusal the receiver will repeat (a 4xx other than 408 and 429) and a
// URL the rules refuse are errors of kind invalid.
func (n *Notifier) post(ctx context.Context, s Settings, eventID string, body []byte) error {
	if s.WebhookURL == "" {
		n.opt.Log.WarnContext(ctx, "the webhook channel is chosen but agent.notify_webhook_url is empty", "event", eventID)
		return nil
	}
	if err := CheckWebhookURL(s.WebhookURL); err != nil {
		return fault.Invalid(ParamWebhookURL, "%v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WebhookURL, strings.NewReader(string(body)))
	if err != nil {
		return fault.Invalid(ParamWebhookURL, "%v", err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("User-Agent", "gpubroker-notify")
	req.Header.Set("Ce-Id", eventID)
	if s.WebhookSecret != "" {
		req.Header.Set(SignatureHeader, Sign(s.WebhookSecret, n.opt.Now(), body))
	} else {
		n.opt.Log.WarnContext(ctx, "webhook sent unsigned: agent.notify_webhook_secret is empty", "event", eventID)
	}
	resp, err := n.opt.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post event %s to the webhook: %w", eventID, scrub(err))
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("post event %s to the webhook: %s", eventID, resp.Status)
	default:
		return fault.Invalid(ParamWebhookURL, "the webhook refused event %s: %s", eventID, resp.Status)
	}
}

// scrub keeps the URL out of a transport error: its query may carry a
// token of the receiver's.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
