package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// mailer is the worker that delivers mail: a consumer group on the mail
// topic handing each mail.requested event to Deliver. A record's offset is
// committed only once its message was delivered (or given up on), so a
// worker stopped mid-way leaves the rest to the next one.
type mailer struct{ *consumer }

const (
	// mailGroup is the consumer group of every instance's delivery worker.
	mailGroup = "gpubroker-mail"
	// mailPartitions bounds the partitions delivered at once by one
	// instance; each partition's messages go out in order.
	mailPartitions = 4
	// mailAttempts is how often one message is tried before it is given
	// up on (and logged); mailBackoff is the first wait between tries,
	// doubling after each.
	mailAttempts = 5
	mailBackoff  = time.Second
)

func startMailer(conn []kgo.Opt, svc *mail.Service, ps *params.Service, log *slog.Logger) (*mailer, error) {
	topic := events.Topic(ps.Snapshot().String("", "", "events.topic_prefix"), mail.EventRequested)
	c, _, err := consume(conn, mailGroup, topic, mailPartitions, "mail events", log, func(ctx context.Context, r *kgo.Record) bool {
		return deliver(ctx, svc, r, log)
	})
	if err != nil {
		return nil, err
	}
	return &mailer{c}, nil
}

// deliver hands one record's message to svc, trying again with backoff
// while delivery fails. It reports false when the worker stopped before
// the message was delivered or given up on.
func deliver(ctx context.Context, svc *mail.Service, r *kgo.Record, log *slog.Logger) bool {
	var ce events.CloudEvent
	var m mail.Message
	if err := json.Unmarshal(r.Value, &ce); err != nil || ce.Type != mail.EventRequested {
		return true // not mail: nothing to deliver
	}
	if err := json.Unmarshal(ce.Data, &m); err != nil {
		log.Error("mail event carries no message; dropped", "event", ce.ID, "err", err)
		return true
	}
	return persistently(ctx, log, mailAttempts, mailBackoff, "mail not delivered", "given up",
		func(err error) bool { return fault.KindOf(err) == fault.KindInvalid },
		func() error { return svc.Deliver(ctx, m) }, "mail", m.ID, "tenant", m.TenantID)
}

// mailSenders chooses the sender of each delivery from the parameters the
// message's tenant reads in its mode (email.sender and its settings), and
// builds it: the one place a sender is made.
type mailSenders struct {
	cfg     Config
	params  *params.Service
	tenants *tenant.Service
	mailbox *mail.Mailbox

	mu  sync.Mutex
	ses map[string]*sesv2.Client // by region; a client is safe to share
}

func newMailSenders(cfg Config, ps *params.Service, ts *tenant.Service, box *mail.Mailbox) *mailSenders {
	return &mailSenders{cfg: cfg, params: ps, tenants: ts, mailbox: box, ses: map[string]*sesv2.Client{}}
}

// route implements mail.Route.
func (m *mailSenders) route(ctx context.Context, tenantID string) (string, mail.Sender, error) {
	tn, err := m.tenants.Lookup(ctx, tenantID)
	if err != nil {
		return "", nil, err
	}
	set := mail.SettingsFrom(m.params.Snapshot(), tenantID, tn.Mode)
	switch set.Sender {
	case mail.SenderSES:
		c, err := m.sesClient(ctx, set.SESRegion)
		if err != nil {
			return "", nil, err
		}
		return mail.SenderSES, mail.SES{Client: c, From: set.From, ConfigurationSet: set.SESConfigurationSet}, nil
	case mail.SenderSMTP:
		if set.SMTPHost == "" {
			return "", nil, fault.Unavailable("email.sender is smtp but email.smtp.host is empty")
		}
		return mail.SenderSMTP, mail.SMTP{Host: set.SMTPHost, Port: set.SMTPPort, Username: set.SMTPUsername,
			Password: set.SMTPPassword, From: set.From, Now: time.Now}, nil
	}
	return mail.SenderMailbox, m.mailbox, nil
}

// sesClient is the SES client of region (the platform's AWS region when
// empty), made once.
func (m *mailSenders) sesClient(ctx context.Context, region string) (*sesv2.Client, error) {
	if region == "" {
		region = m.cfg.AWSRegion
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.ses[region]; ok {
		return c, nil
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("aws config for SES: %w", err)
	}
	c := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		if m.cfg.AWSEndpoint != "" {
			o.BaseEndpoint = aws.String(m.cfg.AWSEndpoint)
		}
	})
	m.ses[region] = c
	return c, nil
}

// platformName is the platform's name as a tenant reads it in its mode.
func platformName(ps *params.Service, ts *tenant.Service) func(ctx context.Context, tenantID string) string {
	return func(ctx context.Context, tenantID string) string {
		tn, _ := ts.Lookup(ctx, tenantID) // an unknown tenant reads the global name
		return ps.Snapshot().String(tenantID, tn.Mode, "platform.name")
	}
}
