package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/params"
)

// TestTheParametersTakeOnlyWhatNotifies: channels and statuses are lists
// of known names, and a webhook is https or plain http on loopback.
func TestTheParametersTakeOnlyWhatNotifies(t *testing.T) {
	cat, err := params.NewCatalog(notify.Params())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, value string
		ok         bool
	}{
		{notify.ParamChannels, "email", true},
		{notify.ParamChannels, "email, webhook", true},
		{notify.ParamChannels, "", true},
		{notify.ParamChannels, "email,sms", false},
		{notify.ParamOn, "awaiting_approval,executed,failed", true},
		{notify.ParamOn, "executed,done", false},
		{notify.ParamWebhookURL, "https://hooks.example.com/gpubroker", true},
		{notify.ParamWebhookURL, "http://127.0.0.1:9000/hook", true},
		{notify.ParamWebhookURL, "http://localhost/hook", true},
		{notify.ParamWebhookURL, "http://[::1]:9000/hook", true},
		{notify.ParamWebhookURL, "http://hooks.example.com/gpubroker", false},
		{notify.ParamWebhookURL, "http://10.0.0.7/hook", false},
		{notify.ParamWebhookURL, "https://user:pass@hooks.example.com/", false},
		{notify.ParamWebhookURL, "ftp://hooks.example.com/", false},
	} {
		spec, _ := cat.Spec(c.key)
		if _, err := spec.Validate(mode.Sandbox, c.value); (err == nil) != c.ok {
			t.Errorf("%s = %q: %v, want ok %v", c.key, c.value, err, c.ok)
		}
	}
	if sp, _ := cat.Spec(notify.ParamOn); sp.Default != "awaiting_approval,executed,failed" {
		t.Fatalf("agent.notify_on defaults to %q", sp.Default)
	}
}

// TestASignatureVerifiesOnlyItsBodyInItsTime: Verify takes what Sign
// makes and refuses another body, another secret, a stale timestamp and
// a header without a signature.
func TestASignatureVerifiesOnlyItsBodyInItsTime(t *testing.T) {
	at := time.Unix(1_790_000_000, 0)
	body := []byte(`{"id":"e1"}`)
	h := notify.Sign("s3cret", at, body)
	if !strings.HasPrefix(h, "t=1790000000,v1=") || len(h) != len("t=1790000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	for _, c := range []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		ok                   bool
	}{
		{"as signed", "s3cret", h, body, at.Add(time.Minute), true},
		{"another body", "s3cret", h, []byte(`{"id":"e2"}`), at, false},
		{"another secret", "other", h, body, at, false},
		{"too late", "s3cret", h, body, at.Add(10 * time.Minute), false},
		{"no signature", "s3cret", "t=1790000000", body, at, false},
		{"nothing", "s3cret", "", body, at, false},
	} {
		if err := notify.Verify(c.secret, c.header, c.body, c.now, 5*time.Minute); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

type users []auth.User

func (u users) UsersOfTenant(context.Context, string) ([]auth.User, error) { return u, nil }

type outbox struct{ events []events.Event }

func (o *outbox) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (o *outbox) Enqueue(_ context.Context, es ...events.Event) error {
	o.events = append(o.events, es...)
	return nil
}

type sent struct {
	to   string
	kind mail.Kind
	data any
}

type mailer struct{ sent []sent }

func (m *mailer) Send(_ context.Context, _, to string, kind mail.Kind, data any) error {
	m.sent = append(m.sent, sent{to, kind, data})
	return nil
}

type chat struct{ lines []string }

func (c *chat) PostText(_ context.Context, _, text string) error {
	c.lines = append(c.lines, text)
	return nil
}

func decisionEvent(t *testing.T, to decision.Status) []byte {
	t.Helper()
	d := decision.Decision{ID: "dec_1", TenantID: "acme", Tool: "terminate_pod", Headline: "Stop paying for the idle pod", Status: to,
		Preview: decision.Preview{Cost: 0, Destructive: true}, Error: "provider said no"}
	e, err := events.New(decision.EventFor(to), "acme", "acme", decision.Moved{Decision: d, From: decision.StatusApproved}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(events.Envelope(e, "/gpubroker"))
	return b
}

// TestADecisionNotifiesOnTheChannelsChosen: a decision in a status the
// tenant is told of is mailed to each POD Admin and posted to the webhook
// (not to Slack, where the Slack face posts it with its buttons), while
// what the agent tells its admins goes to Slack too; a decision in another
// status, and an event of another kind, notify no one; a webhook that
// refuses is not tried again, one that fails is.
func TestADecisionNotifiesOnTheChannelsChosen(t *testing.T) {
	ctx := context.Background()
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(status.Load())) }))
	defer srv.Close()
	set := notify.Settings{Channels: []notify.Channel{notify.Email, notify.Webhook, notify.Slack}, WebhookURL: srv.URL, WebhookSecret: "s",
		On: []decision.Status{decision.StatusFailed}}
	m, ch, ob := &mailer{}, &chat{}, &outbox{}
	n := notify.New(users{{ID: "a", Email: "a@acme.test", Name: "A", Role: actor.RolePodAdmin}, {ID: "u", Email: "u@acme.test", Role: actor.RoleUser}},
		ob, m, notify.Options{Settings: func(context.Context, string) notify.Settings { return set }, Chat: ch,
			BaseURL: func() string { return "https://gpu.example" }})

	note, err := n.Deliveries(ctx, decisionEvent(t, decision.StatusFailed))
	if err != nil || len(note.Deliveries) != 2 || note.TenantID != "acme" {
		t.Fatalf("deliveries: %+v %v", note, err)
	}
	for _, d := range note.Deliveries {
		err := d.Send(ctx)
		switch d.Channel {
		case notify.Webhook:
			if err == nil || fault.KindOf(err) == fault.KindInvalid {
				t.Fatalf("a webhook answering 503: %v, want an error worth another try", err)
			}
			status.Store(http.StatusGone)
			if err := d.Send(ctx); fault.KindOf(err) != fault.KindInvalid {
				t.Fatalf("a webhook answering 410: %v, want an error not worth another try", err)
			}
			status.Store(http.StatusNoContent)
			if err := d.Send(ctx); err != nil {
				t.Fatalf("a webhook answering 204: %v", err)
			}
		default:
			if err != nil {
				t.Fatalf("%s: %v", d.Channel, err)
			}
		}
	}
	if len(m.sent) != 1 || m.sent[0].to != "a@acme.test" || m.sent[0].kind != mail.KindAgentAction {
		t.Fatalf("mail: %+v", m.sent)
	}
	if a := m.sent[0].data.(mail.AgentAction); a.Status != "failed" || a.Error != "provider said no" || a.Link != "https://gpu.example/agent/decisions/dec_1" {
		t.Fatalf("mail data: %+v", a)
	}
	if len(ch.lines) != 0 {
		t.Fatalf("a decision told to the chat: %q", ch.lines)
	}
	told, err := n.Deliveries(ctx, []byte(`{"specversion":"1.0","id":"n1","type":"`+string(notify.EventAdminNotified)+`","tenant":"acme",`+
		`"data":{"subject":"Quota","message":"H100 quota at 90%","severity":"warning"}}`))
	if err != nil || len(told.Deliveries) != 3 {
		t.Fatalf("a notice: %+v %v", told, err)
	}
	for _, d := range told.Deliveries {
		if d.Channel == notify.Slack {
			if err := d.Send(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(ch.lines) != 1 || !strings.Contains(ch.lines[0], "H100 quota at 90%") {
		t.Fatalf("chat: %q", ch.lines)
	}

	for _, raw := range [][]byte{decisionEvent(t, decision.StatusExecuted), []byte(`{"specversion":"1.0","id":"x","type":"pod.moved","tenant":"acme","data":{}}`)} {
		if note, err := n.Deliveries(ctx, raw); err != nil || len(note.Deliveries) != 0 {
			t.Fatalf("%s: %+v %v", raw, note, err)
		}
	}
	if _, err := n.Deliveries(ctx, []byte("not json")); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := n.Tell(ctx, "acme", notify.Notice{Subject: "s", Message: "m", Severity: "loud"}); fault.KindOf(err) != fault.KindInvalid {
		t.Fatalf("a notice of an unknown severity: %v", err)
	}
	if len(ob.events) != 0 {
		t.Fatalf("a refused notice was written: %+v", ob.events)
	}
}
