package mail

import (
	"context"
	"time"
)

// Sender delivers one rendered message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// The senders a deployment chooses from (parameter email.sender).
const (
	SenderMailbox = "mailbox"
	SenderSES     = "ses"
	SenderSMTP    = "smtp"
)

// Record is a message as the log keeps it: with the sender that delivered
// it and when.
type Record struct {
	Message
	Sender      string    `json:"sender"`
	DeliveredAt time.Time `json:"delivered_at"`
}

// Filter selects records of one tenant, newest first.
type Filter struct {
	TenantID string
	// To narrows to one recipient address.
	To string
	// Kind narrows to one kind.
	Kind  Kind
	Limit int
}

// Log keeps every delivered message; the store implements it.
type Log interface {
	// PutMail stores r unless a message with its id is kept already, and
	// reports whether it stored it (false: a duplicate, left unchanged).
	PutMail(ctx context.Context, r Record) (bool, error)
	// MailDelivered reports whether the message with this id was
	// delivered.
	MailDelivered(ctx context.Context, id string) (bool, error)
	// ListMail lists the records f selects, newest first.
	ListMail(ctx context.Context, f Filter) ([]Record, error)
}

// Mailbox is the sender that keeps every message in the database and
// sends nothing anywhere: the default, and the mailbox a SANDBOX tenant
// reads its mail from.
type Mailbox struct {
	log Log
	now func() time.Time
}

// NewMailbox returns a Mailbox keeping messages in log, timed by now.
func NewMailbox(log Log, now func() time.Time) *Mailbox { return &Mailbox{log: log, now: now} }

// Send implements Sender: it stores m, once.
func (b *Mailbox) Send(ctx context.Context, m Message) error {
	_, err := b.log.PutMail(ctx, Record{Message: m, Sender: SenderMailbox, DeliveredAt: b.now().UTC().Truncate(time.Microsecond)})
	return err
}
