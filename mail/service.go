package mail

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
)

// EventRequested is the event a message waits in until it is delivered:
// its key is the message id, its payload the Message.
const EventRequested events.Type = "mail.requested"

// Repo is what the Service needs of the store: the outbox, whose rows
// join the transaction the context carries, and the log of delivered mail.
type Repo interface {
	Enqueue(ctx context.Context, es ...events.Event) error
	Log
}

// Route chooses the sender of a tenant's mail, and names it for the log.
type Route func(ctx context.Context, tenantID string) (name string, s Sender, err error)

// Options tune a Service.
type Options struct {
	// Platform is the platform's name as a tenant's mail shows it (its
	// platform.name); "GPUBROKER POD" when nil.
	Platform func(ctx context.Context, tenantID string) string
	// Route chooses each delivery's sender; the Mailbox when nil.
	Route Route
	Now   func() time.Time
	Log   *slog.Logger
}

// Service asks for mail and delivers it.
type Service struct {
	repo      Repo
	opt       Options
	committed func()
}

// NewService returns a Service over repo.
func NewService(repo Repo, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Platform == nil {
		opt.Platform = func(context.Context, string) string { return "GPUBROKER POD" }
	}
	if opt.Route == nil {
		box := NewMailbox(repo, opt.Now)
		opt.Route = func(context.Context, string) (string, Sender, error) { return SenderMailbox, box, nil }
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{repo: repo, opt: opt}
}

// OnCommit sets what to call after a message was enqueued (the relay's
// Nudge, so it leaves at once rather than at the next poll). It must be
// set before the service is used.
func (s *Service) OnCommit(fn func()) { s.committed = fn }

func (s *Service) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// Send renders a message of kind from data for the address to in
// tenantID, and enqueues it for delivery. Called with the context of a
// store transaction, the message commits with the change that caused it,
// or is never sent.
func (s *Service) Send(ctx context.Context, tenantID, to string, kind Kind, data any) error {
	if tenantID == "" {
		return fault.Invalid("tenant", "mail belongs to a tenant")
	}
	addr, err := netmail.ParseAddress(to)
	if err != nil {
		return fault.Invalid("to", "%q is not an email address: %v", to, err)
	}
	m, err := Render(kind, s.opt.Platform(ctx, tenantID), data)
	if err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("message id: %w", err)
	}
	now := s.now()
	m.ID, m.TenantID, m.To, m.CreatedAt = "mail_"+id.String(), tenantID, strings.ToLower(addr.Address), now
	e, err := events.New(EventRequested, m.ID, tenantID, m, now)
	if err != nil {
		return err
	}
	if err := s.repo.Enqueue(ctx, e); err != nil {
		return fmt.Errorf("send %s mail %s: %w", kind, m.ID, err)
	}
	if s.committed != nil {
		s.committed()
	}
	return nil
}

// Deliver sends m with the sender its tenant's route chooses and records
// the delivery. Events arrive at least once, so a message already
// delivered is not sent again. A crash between sending and recording
// sends it once more on redelivery: mail is delivered at least once, never
// lost for a duplicate.
func (s *Service) Deliver(ctx context.Context, m Message) error {
	if m.ID == "" || m.TenantID == "" || m.To == "" || !m.Kind.Valid() {
		return fault.Invalid("message", "a message needs an id, a tenant, a recipient and a known kind (got %q, %q, %q, %q)",
			m.ID, m.TenantID, m.To, m.Kind)
	}
	done, err := s.repo.MailDelivered(ctx, m.ID)
	if err != nil {
		return fmt.Errorf("deliver mail %s: %w", m.ID, err)
	}
	if done {
		s.opt.Log.DebugContext(ctx, "mail already delivered; not sent again", "mail", m.ID, "tenant", m.TenantID)
		return nil
	}
	name, sender, err := s.opt.Route(ctx, m.TenantID)
	if err != nil {
		return fmt.Errorf("deliver mail %s: choose the sender: %w", m.ID, err)
	}
	if err := sender.Send(ctx, m); err != nil {
		return fmt.Errorf("deliver mail %s by %s: %w", m.ID, name, err)
	}
	// What was sent is recorded even when the worker is being stopped.
	if _, err := s.repo.PutMail(context.WithoutCancel(ctx), Record{Message: m, Sender: name, DeliveredAt: s.now()}); err != nil {
		return fmt.Errorf("record mail %s: %w", m.ID, err)
	}
	s.opt.Log.InfoContext(ctx, "mail delivered", "mail", m.ID, "tenant", m.TenantID, "kind", string(m.Kind), "sender", name)
	return nil
}

// List returns the delivered mail f selects, newest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Record, error) {
	if f.TenantID == "" {
		return nil, fault.Invalid("tenant", "mail is listed per tenant")
	}
	return s.repo.ListMail(ctx, f)
}
