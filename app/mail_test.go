package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tools"
)

// logged keeps every log record's message and string attributes, so a
// test can wait for something the platform reports only in its log.
type logged struct {
	mu      sync.Mutex
	records []map[string]string
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logged) WithGroup(string) slog.Handler            { return l }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { rec[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, rec)
	return nil
}

// count is how many records have message msg and attribute key=value.
func (l *logged) count(msg, key, value string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r["msg"] == msg && r[key] == value {
			n++
		}
	}
	return n
}

// TestMailReachesTheMailboxOnceAndOnlyWhenCommitted: mail asked for in a
// transaction travels through the outbox, the in-process broker and the
// delivery worker to the mailbox, where its user reads it with list_mail;
// mail asked for in a transaction that rolled back never arrives; and an
// event published twice delivers its message once.
func TestMailReachesTheMailboxOnceAndOnlyWhenCommitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &logged{}
	a, err := New(ctx, Config{DataDir: t.TempDir()}, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ana := auth.User{ID: "u-ana", TenantID: "default", Email: "ana@example.test", Name: "Ana", Role: actor.RoleUser, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateUser(ctx, ana); err != nil {
		t.Fatal(err)
	}
	link := "https://gpu.example/activate/pod_1?token=secret"
	activation := mail.Activation{Name: "Ana", PodName: "train", PodID: "pod_1", GPU: "H100-SXM-80GB", GPUCount: 1, Link: link, ExpiresAt: now.Add(time.Hour)}

	boom := errors.New("the pod did not become ready after all")
	err = a.Store.InTx(ctx, func(ctx context.Context) error {
		if err := a.Mail.Send(ctx, "default", ana.Email, mail.KindActivation, mail.Activation{Name: "Ana", PodName: "rolled-back",
			PodID: "pod_0", Link: "https://gpu.example/activate/pod_0", ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if err := a.Store.InTx(ctx, func(ctx context.Context) error {
		return a.Mail.Send(ctx, "default", ana.Email, mail.KindActivation, activation)
	}); err != nil {
		t.Fatal(err)
	}

	user := actor.Actor{Kind: actor.KindUser, ID: ana.ID, TenantID: "default", Role: actor.RoleUser}
	inbox := func() []mail.Record {
		t.Helper()
		res := a.Tools.Call(ctx, tools.Request{Actor: user, Face: audit.FaceDirect, Tool: tools.ToolListMail, Input: []byte(`{}`)})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		return res.Output.(tools.MailList).Messages
	}
	var got []mail.Record
	for len(got) == 0 {
		if ctx.Err() != nil {
			t.Fatal("the activation mail never reached the mailbox")
		}
		time.Sleep(20 * time.Millisecond)
		got = inbox()
	}
	m := got[0]
	if len(got) != 1 || m.Kind != mail.KindActivation || m.To != ana.Email || m.Sender != mail.SenderMailbox ||
		len(m.Links) != 1 || m.Links[0].URL != link || m.Subject != "Your pod train is ready to activate on GPUBROKER POD" {
		t.Fatalf("mailbox %+v", got)
	}
	// The worker logs a delivery after the mailbox row commits.
	for logs.count("mail delivered", "mail", m.ID) == 0 {
		if ctx.Err() != nil {
			t.Fatal("the delivery was never logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := logs.count("mail delivered", "mail", m.ID); n != 1 {
		t.Fatalf("delivered %d times, want once", n)
	}

	// The relay publishes the event again, as it does when it stopped
	// between the broker's acknowledgement and marking it published.
	if _, err := a.Store.DB().ExecContext(ctx, `UPDATE outbox SET published_at = NULL WHERE key = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	a.stream.relay.Nudge()
	for logs.count("mail already delivered; not sent again", "mail", m.ID) == 0 {
		if ctx.Err() != nil {
			t.Fatal("the republished event never reached the delivery worker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := inbox(); len(got) != 1 || got[0].ID != m.ID || !got[0].DeliveredAt.Equal(m.DeliveredAt) {
		t.Fatalf("after a duplicate event the mailbox holds %+v", got)
	}
	if n := logs.count("mail delivered", "mail", m.ID); n != 1 {
		t.Fatalf("delivered %d times, want once", n)
	}
	// The relay marks the republished event once the broker acknowledged
	// it, which may come after the worker already read it.
	for {
		n, err := a.Store.OutboxDepth(ctx)
		if err == nil && n == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("outbox depth %d, %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEachModeHasItsSender: email.sender set for LIVE alone sends a LIVE
// tenant's mail by SMTP or SES, with the settings and sender address it
// reads, while SANDBOX mail stays in the mailbox.
func TestEachModeHasItsSender(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	sys := actor.System("test")
	if _, err := a.Tenants.Create(ctx, sys, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.SwitchTenantMode(ctx, "acme", mode.Sandbox, mode.Live,
		audit.Record{At: time.Now(), Actor: sys, Action: "tenant.switch_mode", TenantID: "acme", Verdict: "allow"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Tenants.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	set := func(m mode.Mode, key, value string) {
		t.Helper()
		if _, err := a.Params.Set(ctx, sys, params.SetRequest{Scope: params.Scope{Mode: m}, Key: key, Value: value, Confirm: "global"}); err != nil {
			t.Fatal(err)
		}
	}
	senders := newMailSenders(a.cfg, a.Params, a.Tenants, mail.NewMailbox(a.Store, time.Now))
	route := func(tenantID string) (string, mail.Sender) {
		t.Helper()
		name, s, err := senders.route(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		return name, s
	}
	if name, s := route("acme"); name != mail.SenderMailbox || s != senders.mailbox {
		t.Fatalf("by default LIVE mail goes to %s", name)
	}

	set(mode.Live, "email.sender", "smtp")
	if _, _, err := senders.route(ctx, "acme"); fault.KindOf(err) != fault.KindUnavailable {
		t.Fatalf("smtp without a host: %v", err)
	}
	set(mode.Live, "email.smtp.host", "smtp.example.test")
	set(mode.Live, "email.smtp.port", "2525")
	set(mode.Live, "email.smtp.username", "mailer")
	set(mode.Live, "email.smtp.password", "s3cret")
	set(mode.Live, "email.from", "Acme GPU <no-reply@acme.test>")
	name, s := route("acme")
	smtp, ok := s.(mail.SMTP)
	if name != mail.SenderSMTP || !ok || smtp.Host != "smtp.example.test" || smtp.Port != 2525 || smtp.Username != "mailer" ||
		smtp.Password != "s3cret" || smtp.From != "Acme GPU <no-reply@acme.test>" {
		t.Fatalf("LIVE mail goes to %s: %+v", name, s)
	}
	if name, _ := route("default"); name != mail.SenderMailbox {
		t.Fatalf("SANDBOX mail goes to %s", name)
	}

	set(mode.Live, "email.sender", "ses")
	set(mode.Live, "email.ses.region", "eu-west-1")
	set(mode.Live, "email.ses.configuration_set", "transactional")
	name, s = route("acme")
	ses, ok := s.(mail.SES)
	if name != mail.SenderSES || !ok || ses.From != "Acme GPU <no-reply@acme.test>" || ses.ConfigurationSet != "transactional" ||
		ses.Client.(*sesv2.Client).Options().Region != "eu-west-1" {
		t.Fatalf("LIVE mail goes to %s: %+v", name, s)
	}
	if _, again := route("acme"); again.(mail.SES).Client != ses.Client {
		t.Fatal("a second message made a second SES client")
	}
	if _, _, err := senders.route(ctx, "ghost"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("mail of an unknown tenant: %v", err)
	}
}
