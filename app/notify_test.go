package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/notify"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

// receiver is a tenant's webhook endpoint on loopback: it keeps each
// request whose signature verifies and refuses the others.
type receiver struct {
	secret string
	mu     sync.Mutex
	got    []events.CloudEvent
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var ce events.CloudEvent
	if notify.Verify(rc.secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute) != nil ||
		json.Unmarshal(body, &ce) != nil || r.Header.Get("Ce-Id") != ce.ID {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.got = append(rc.got, ce)
}

func (rc *receiver) events() []events.CloudEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// TestAgentActionsReachTheAdminsByEmailAndWebhook: a decision in a
// status the tenant is told of is mailed to each of its POD Admins (not
// to its users) and posted, signed, to its webhook, which is down at
// first: the worker tries again until it is back and delivers it once. A
// decision in a status the tenant is not told of notifies no one; a
// notice the agent writes takes the same way.
func TestAgentActionsReachTheAdminsByEmailAndWebhook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logs := &logged{}
	log := slog.New(logs)

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "gpubroker.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := params.NewCatalog(params.Platform(), mail.Params(), decision.Params(), notify.Params())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, _ := secrets.NewLocalKey(key)
	ps := params.NewService(cat, st, secrets.NewEnvelope(lk))
	if err := ps.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	ts := tenant.NewService(st, tenant.NewLiveCheck(ps))
	if _, err := ts.Create(ctx, actor.System("test"), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, u := range []auth.User{
		{ID: "u-ana", Email: "ana@acme.test", Name: "Ana", Role: actor.RolePodAdmin},
		{ID: "u-bob", Email: "bob@acme.test", Name: "Bob", Role: actor.RolePodAdmin},
		{ID: "u-cy", Email: "cy@acme.test", Name: "Cy", Role: actor.RoleUser},
	} {
		u.TenantID, u.CreatedAt, u.UpdatedAt = "acme", now, now
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	// The webhook's address is taken, then let go: nothing listens there
	// until the receiver starts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	op := actor.Actor{Kind: actor.KindUser, ID: "op", TenantID: "acme", Role: actor.RolePodAdmin}
	for k, v := range map[string]string{notify.ParamChannels: "email, webhook", notify.ParamWebhookURL: "http://" + addr + "/hooks/gpubroker",
		notify.ParamWebhookSecret: "whsec-acme-test", notify.ParamOn: "awaiting_approval,executed"} {
		if _, err := ps.Set(ctx, op, params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: k, Value: v, Confirm: "acme"}); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	ms := mail.NewService(st, mail.Options{})
	a := &App{Store: st, Params: ps, Tenants: ts, Mail: ms, log: log}
	n := newNotifier(a)

	const topic = "gpubroker.agent" // events.topic_prefix and the agent domain
	w, err := startNotifier([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, n, ps, log)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	producer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	publish := func(e events.Event) {
		t.Helper()
		b, err := json.Marshal(events.Envelope(e, "/gpubroker"))
		if err != nil {
			t.Fatal(err)
		}
		if err := producer.ProduceSync(ctx, &kgo.Record{Key: []byte(e.Key), Value: b}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	moved := func(id string, to decision.Status, from decision.Status) events.Event {
		d := decision.Decision{ID: id, TenantID: "acme", TaskID: "task-1", Step: 1, AdminID: "u-ana", Headline: "Deploy 2 × H100 for the nightly run",
			Tool: "deploy_pod", Args: json.RawMessage(`{"id":"pod-1","token":"do-not-leak"}`), Status: to,
			Preview: decision.Preview{Effect: "deploy train on lambda-h100", Cost: money.MustParse("57.60")}, CreatedAt: now, UpdatedAt: now}
		e, err := events.New(decision.EventFor(to), "acme", "acme", decision.Moved{Decision: d, From: from,
			Actor: actor.Actor{Kind: actor.KindAgent, ID: "u-ana", TenantID: "acme"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	publish(moved("dec_quiet", decision.StatusApproved, decision.StatusProposed)) // not in agent.notify_on
	executed := moved("dec_ran", decision.StatusExecuted, decision.StatusApproved)
	publish(executed)

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("a failed try at the webhook", func() bool {
		return logs.count("notification not delivered; trying again", "event", executed.ID) > 0
	})
	rc := &receiver{secret: "whsec-acme-test"}
	srv := httptest.NewUnstartedServer(rc)
	if srv.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	waitFor("the webhook", func() bool { return len(rc.events()) > 0 })

	got := rc.events()[0]
	var summary notify.DecisionSummary
	if err := json.Unmarshal(got.Data, &summary); err != nil {
		t.Fatal(err)
	}
	if got.ID != executed.ID || got.Type != decision.EventDecisionExecuted || got.Tenant != "acme" || summary.ID != "dec_ran" ||
		summary.Status != decision.StatusExecuted || summary.Preview.Cost != money.MustParse("57.60") ||
		!strings.HasSuffix(summary.Link, "/agent/decisions/dec_ran") || strings.Contains(string(got.Data), "do-not-leak") {
		t.Fatalf("the webhook got %+v\n%s", got, got.Data)
	}

	// The admins' mail, asked for once: delivered, it is in the mailbox.
	mailed := func(kind mail.Kind) []string {
		t.Helper()
		pending, err := st.PendingEvents(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pending {
			var m mail.Message
			if e.Type == mail.EventRequested && json.Unmarshal(e.Payload, &m) == nil {
				if err := ms.Deliver(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		list, err := ms.List(ctx, mail.Filter{TenantID: "acme", Kind: kind, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, r := range list {
			to = append(to, r.To)
			if kind == mail.KindAgentAction && (!strings.Contains(r.Text, "deploy_pod") || !strings.Contains(r.Text, "USD 57.60") ||
				!strings.Contains(r.Text, "/agent/decisions/dec_ran")) {
				t.Errorf("the mail to %s says:\n%s", r.To, r.Text)
			}
		}
		slices.Sort(to)
		return to
	}
	if to := mailed(mail.KindAgentAction); !slices.Equal(to, []string{"ana@acme.test", "bob@acme.test"}) {
		t.Fatalf("agent_action mail went to %v, want the two POD Admins once each", to)
	}

	// A notice of the agent's travels the same way.
	notice, err := n.Tell(ctx, "acme", notify.Notice{Subject: "Budget nearly spent", Message: "92% of the month's budget is spent.",
		Severity: notify.SeverityWarning, By: actor.Actor{Kind: actor.KindAgent, ID: "u-ana", TenantID: "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	publish(notice)
	waitFor("the notice at the webhook", func() bool { return len(rc.events()) == 2 })
	if got := rc.events()[1]; got.Type != notify.EventAdminNotified || !strings.Contains(string(got.Data), "Budget nearly spent") {
		t.Fatalf("the webhook got %+v", got)
	}
	if to := mailed(mail.KindAgentNotification); !slices.Equal(to, []string{"ana@acme.test", "bob@acme.test"}) {
		t.Fatalf("agent_notification mail went to %v", to)
	}

	// Delivered once each: nothing more arrives, and no request was
	// refused for its signature.
	time.Sleep(300 * time.Millisecond)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != 2 || rc.bad != 0 {
		t.Fatalf("the webhook got %d notifications and %d badly signed requests; want 2 and 0", len(rc.got), rc.bad)
	}
	for _, ce := range rc.got {
		if ce.ID == "" || strings.Contains(string(ce.Data), "dec_quiet") {
			t.Fatalf("a decision the tenant is not told of was posted: %+v", ce)
		}
	}
}
