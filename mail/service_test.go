package mail_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/store"
)

var now = time.Date(2031, 5, 17, 9, 30, 0, 0, time.UTC)

func clock() time.Time { return now }

func openStore(t *testing.T, backend string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dbtest.New(t, backend).URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var activation = mail.Activation{Name: "Ana", PodName: "train", PodID: "pod_1", GPU: "H100-SXM-80GB", GPUCount: 1,
	Link: "https://gpu.example/activate/pod_1?token=t", ExpiresAt: now.Add(time.Hour)}

// TestSendCommitsWithTheChangeThatCausedIt: mail asked for inside a
// transaction that rolls back leaves no outbox row; inside one that
// commits it leaves exactly its mail.requested event, keyed by the
// message id, carrying the rendered message.
func TestSendCommitsWithTheChangeThatCausedIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		st := openStore(t, b.Name)
		nudged := 0
		svc := mail.NewService(st, mail.Options{Now: clock,
			Platform: func(_ context.Context, tenantID string) string { return "Cloud of " + tenantID }})
		svc.OnCommit(func() { nudged++ })

		boom := errors.New("the change failed")
		err := st.InTx(ctx, func(ctx context.Context) error {
			if err := svc.Send(ctx, "acme", "ana@acme.test", mail.KindActivation, activation); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if es, err := st.PendingEvents(ctx, 10); err != nil || len(es) != 0 {
			t.Fatalf("after a rollback the outbox holds %+v, %v; want nothing", es, err)
		}

		err = st.InTx(ctx, func(ctx context.Context) error {
			return svc.Send(ctx, "acme", "Ana Lopez <Ana@Acme.TEST>", mail.KindActivation, &activation)
		})
		if err != nil {
			t.Fatal(err)
		}
		es, err := st.PendingEvents(ctx, 10)
		if err != nil || len(es) != 1 {
			t.Fatalf("outbox %+v, %v; want one event", es, err)
		}
		e := es[0]
		var m mail.Message
		if err := json.Unmarshal(e.Payload, &m); err != nil {
			t.Fatal(err)
		}
		if e.Type != mail.EventRequested || e.Key != m.ID || e.TenantID != "acme" || !strings.HasPrefix(m.ID, "mail_") ||
			m.TenantID != "acme" || m.To != "ana@acme.test" || m.Kind != mail.KindActivation || !m.CreatedAt.Equal(now) {
			t.Fatalf("event %+v carries %+v", e, m)
		}
		if !strings.Contains(m.Subject, "Cloud of acme") || len(m.Links) != 1 || m.Links[0].URL != activation.Link ||
			!strings.Contains(m.Text, activation.Link) || !strings.Contains(m.HTML, "train") {
			t.Fatalf("message %+v", m)
		}
		if nudged != 2 {
			t.Fatalf("the relay was nudged %d times, want once per message", nudged)
		}
	})
}

func TestSendRefusesWhatCannotBeSent(t *testing.T) {
	st := openStore(t, "sqlite")
	svc := mail.NewService(st, mail.Options{Now: clock})
	ctx := context.Background()
	for _, c := range []struct {
		name, tenant, to string
		kind             mail.Kind
		data             any
		field            string
	}{
		{"no tenant", "", "ana@acme.test", mail.KindActivation, activation, "tenant"},
		{"no address", "acme", "", mail.KindActivation, activation, "to"},
		{"a broken address", "acme", "ana at acme", mail.KindActivation, activation, "to"},
		{"two addresses", "acme", "ana@acme.test, bo@acme.test", mail.KindActivation, activation, "to"},
		{"the wrong data", "acme", "ana@acme.test", mail.KindInvoice, activation, "data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := svc.Send(ctx, c.tenant, c.to, c.kind, c.data)
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.KindInvalid || len(fe.Problems) != 1 || fe.Problems[0].Field != c.field {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
	if n, _ := st.OutboxDepth(ctx); n != 0 {
		t.Fatalf("%d events enqueued for refused mail", n)
	}
}

// countingSender counts what it sends and fails while fail is set.
type countingSender struct {
	mu   sync.Mutex
	sent []string
	fail error
}

func (s *countingSender) Send(_ context.Context, m mail.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.sent = append(s.sent, m.ID)
	return nil
}

func message(t *testing.T, id string) mail.Message {
	t.Helper()
	m, err := mail.Render(mail.KindActivation, "Cloud", activation)
	if err != nil {
		t.Fatal(err)
	}
	m.ID, m.TenantID, m.To, m.CreatedAt = id, "acme", "ana@acme.test", now
	return m
}

// TestDeliverSendsEachMessageOnce: a redelivered message is not sent
// again; a failed send is not recorded, so the next delivery sends it.
func TestDeliverSendsEachMessageOnce(t *testing.T) {
	st := openStore(t, "sqlite")
	ctx := context.Background()
	sender := &countingSender{fail: errors.New("connection refused")}
	svc := mail.NewService(st, mail.Options{Now: clock, Route: func(_ context.Context, tenantID string) (string, mail.Sender, error) {
		if tenantID != "acme" {
			t.Errorf("routed tenant %q", tenantID)
		}
		return "counting", sender, nil
	}})
	m := message(t, "mail_1")
	if err := svc.Deliver(ctx, m); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a failed send answered %v", err)
	}
	if done, _ := st.MailDelivered(ctx, m.ID); done {
		t.Fatal("a failed send was recorded as delivered")
	}
	sender.fail = nil
	for range 3 {
		if err := svc.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(sender.sent) != 1 {
		t.Fatalf("sent %v, want mail_1 once", sender.sent)
	}
	list, err := svc.List(ctx, mail.Filter{TenantID: "acme"})
	if err != nil || len(list) != 1 || list[0].Sender != "counting" || !list[0].DeliveredAt.Equal(now) || list[0].Subject != m.Subject {
		t.Fatalf("recorded %+v, %v", list, err)
	}
	if err := svc.Deliver(ctx, mail.Message{ID: "mail_2"}); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("an incomplete message answered %v", err)
	}
}

// TestTheMailboxKeepsWhatItIsGiven: with no route the Mailbox delivers:
// the message is in the database and nowhere else.
func TestTheMailboxKeepsWhatItIsGiven(t *testing.T) {
	st := openStore(t, "sqlite")
	ctx := context.Background()
	svc := mail.NewService(st, mail.Options{Now: clock})
	m := message(t, "mail_1")
	for range 2 {
		if err := svc.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	list, err := svc.List(ctx, mail.Filter{TenantID: "acme", To: "ana@acme.test"})
	if err != nil || len(list) != 1 || list[0].Sender != mail.SenderMailbox || list[0].ID != "mail_1" || list[0].HTML != m.HTML {
		t.Fatalf("mailbox %+v, %v", list, err)
	}
	if _, err := svc.List(ctx, mail.Filter{}); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("listing every tenant's mail answered %v", err)
	}
}
