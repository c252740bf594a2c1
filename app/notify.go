package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// notifyWorker tells the tenants' admins what the agent does and says: a
// consumer group on the agent topic handing each decision event and each
// notice to the Notifier, and each of its deliveries (email, webhook)
// to persistently. A record's offset is committed only once every
// delivery succeeded or was given up on, so a notification reaches each
// channel at least once.
type notifyWorker struct{ *consumer }

const (
	// notifyGroup is the consumer group of every instance's worker.
	notifyGroup = "gpubroker-notify"
	// notifyPartitions bounds the partitions handled at once by one
	// instance; a tenant's notifications go out in order.
	notifyPartitions = 4
	// notifyAttempts is how often one delivery is tried before it is
	// given up on (and logged); notifyBackoff is the first wait between
	// tries, doubling after each (about eight minutes in all).
	notifyAttempts = 8
	notifyBackoff  = 2 * time.Second
)

// newNotifier is the Notifier over the app's store, mail and parameters;
// a notice it writes nudges the relay once the stream is open.
func newNotifier(a *App) *notify.Notifier {
	return notify.New(a.Store, a.Store, a.Mail, notify.Options{
		Settings: notifySettings(a.Params, a.Tenants),
		BaseURL:  func() string { return a.Params.Snapshot().BaseURL() },
		OnCommit: func() {
			if a.stream != nil {
				a.stream.relay.Nudge()
			}
		},
		// The Slack face is built after the notifier (before its
		// worker starts): it is looked up when a notice is delivered.
		Chat: laterChat{a},
		Now:  time.Now,
		Log:  a.log,
	})
}

// laterChat posts through the app's Slack face.
type laterChat struct{ a *App }

func (c laterChat) PostText(ctx context.Context, tenantID, text string) error {
	if c.a.slackFace == nil {
		return fault.Unavailable("the Slack face is not running")
	}
	return c.a.slackFace.PostText(ctx, tenantID, text)
}

// notifySettings reads a tenant's notification parameters in its mode
// (the global ones for a tenant not found).
func notifySettings(ps *params.Service, ts *tenant.Service) func(ctx context.Context, tenantID string) notify.Settings {
	return func(ctx context.Context, tenantID string) notify.Settings {
		tn, _ := ts.Lookup(ctx, tenantID)
		return notify.SettingsFrom(ps.Snapshot(), tenantID, tn.Mode)
	}
}

// startNotifier starts the worker on the agent topic under the prefix
// the parameters name.
func startNotifier(conn []kgo.Opt, n *notify.Notifier, ps *params.Service, log *slog.Logger) (*notifyWorker, error) {
	topic := events.Topic(ps.Snapshot().String("", "", "events.topic_prefix"), decision.EventDecisionProposed)
	return startNotifyWorker(conn, n, topic, notifyAttempts, notifyBackoff, log)
}

func startNotifyWorker(conn []kgo.Opt, n *notify.Notifier, topic string, attempts int, backoff time.Duration,
	log *slog.Logger) (*notifyWorker, error) {
	c, _, err := consume(conn, notifyGroup, topic, notifyPartitions, "agent events", log, func(ctx context.Context, r *kgo.Record) bool {
		return tell(ctx, n, r.Value, attempts, backoff, log)
	})
	if err != nil {
		return nil, err
	}
	return &notifyWorker{c}, nil
}

// tell runs each delivery one record asks for until it succeeds or is
// given up on. It reports false when the worker stopped first.
func tell(ctx context.Context, n *notify.Notifier, value []byte, attempts int, backoff time.Duration, log *slog.Logger) bool {
	note, err := n.Deliveries(ctx, value)
	if err != nil {
		log.Error("agent event not made into a notification; dropped", "event", note.EventID, "type", string(note.Type),
			"tenant", note.TenantID, "err", err)
		return true
	}
	for _, d := range note.Deliveries {
		ok := persistently(ctx, log, attempts, backoff, "notification not delivered", "given up",
			func(err error) bool { return fault.KindOf(err) == fault.KindInvalid },
			func() error { return d.Send(ctx) },
			"event", note.EventID, "type", string(note.Type), "tenant", note.TenantID, "channel", string(d.Channel))
		if !ok {
			return false
		}
	}
	return true
}
