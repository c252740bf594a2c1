// Package mail writes and delivers the platform's email: an email address
// to verify, a pod to activate or now active, an invoice, a failed payment,
// a word from the agent, a pod stopped for being idle. Each kind has its
// data, its subject line and a text and an HTML template embedded in the
// binary; rendering names the platform and every link the message carries,
// so a person or a test can follow a link from the stored message.
//
// A domain operation asks for mail with Service.Send inside its own
// transaction: the message is rendered there and written to the outbox as
// a mail.requested event, so mail leaves only for changes that committed.
// A delivery worker consumes those events and calls Service.Deliver, which
// sends each message once through the configured Sender — the Mailbox
// (kept in the database, never leaving the machine: the default, and what
// a SANDBOX tenant reads back), Amazon SES, or an SMTP server — and
// records it.
//
// mail must not import a face or the tools, must not decide who is told
// what (the domain packages do), and must not send anything outside the
// delivery path: Send only enqueues.
package mail
