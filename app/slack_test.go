package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack/slacktest"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
)

// slackAPI is a slacktest server answering chat.postMessage and
// chat.update, or 503 while down, and counting every call.
type slackAPI struct {
	srv      *slacktest.Server
	down     atomic.Bool
	refused  atomic.Int64
	mu       sync.Mutex
	posts    []url.Values
	updates  []url.Values
	postedTS int
	// seen, when set, is called with each post and update as it arrives.
	seen func(v url.Values)
}

func newSlackAPI(t testing.TB) *slackAPI {
	s := &slackAPI{}
	answer := func(record func(url.Values) map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.down.Load() {
				s.refused.Add(1)
				http.Error(w, "Slack is down", http.StatusServiceUnavailable)
				return
			}
			_ = r.ParseForm()
			s.mu.Lock()
			out := record(r.PostForm)
			seen := s.seen
			s.mu.Unlock()
			if seen != nil {
				seen(r.PostForm)
			}
			_ = json.NewEncoder(w).Encode(out)
		}
	}
	s.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", answer(func(v url.Values) map[string]any {
			s.posts = append(s.posts, v)
			s.postedTS++
			return map[string]any{"ok": true, "channel": "C0AGENT", "ts": fmt.Sprintf("1700000000.%06d", s.postedTS)}
		}))
		c.Handle("/chat.update", answer(func(v url.Values) map[string]any {
			s.updates = append(s.updates, v)
			return map[string]any{"ok": true, "channel": v.Get("channel"), "ts": v.Get("ts")}
		}))
	})
	s.srv.Start()
	t.Cleanup(s.srv.Stop)
	return s
}

func (s *slackAPI) calls() (posts, updates []url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.posts...), append([]url.Values(nil), s.updates...)
}

// slackPlatform is a platform whose default tenant posts its decisions
// to a fake Slack through a running Slack worker (trying again after
// backoff, or as in production when 0), and the decision service the
// agent would record them with.
func slackPlatform(ctx context.Context, t *testing.T, backoff time.Duration) (*App, *slackAPI, *decision.Service) {
	t.Helper()
	a, err := New(ctx, Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	// The platform's own worker gives way to the one on the fake Slack.
	a.slack.Close()
	a.slack = nil
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	for key, value := range map[string]string{"slack.enabled": "true", "slack.bot_token": "xoxb-test", "slack.channel": "#agent"} {
		if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Scope: params.Scope{TenantID: "default"}, Key: key,
			Value: value, Confirm: "default"}); err != nil {
			t.Fatal(key, err)
		}
	}
	api := newSlackAPI(t)
	face := newSlackFace(a.Tools, a.Store, a.Params, a.Tenants, api.srv.GetAPIURL(), a.log)
	var w *slackWorker
	if backoff > 0 {
		w, err = startSlackWorkerWith(a.stream.opts, face, a.Params, a.log, 50, backoff)
	} else {
		w, err = startSlackWorker(a.stream.opts, face, a.Params, a.log)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return a, api, a.Decisions
}

func propose(ctx context.Context, t *testing.T, ds *decision.Service) decision.Decision {
	t.Helper()
	d, err := ds.Propose(ctx, decision.Decision{TenantID: "default", TaskID: "task-1", Step: 1, AdminID: "u-admin",
		Thoughts: []string{"the run needs an H100"}, Headline: "Deploy an H100", Tool: "deploy_pod", Args: json.RawMessage(`{"id":"pod_1"}`),
		Preview: decision.Preview{Effect: "deploy pod_1", Cost: money.MustParse("3.20")}, Verdict: decision.Verdict{Allowed: true}})
	if err != nil {
		t.Fatal(err)
	}
	// The registry held it.
	d, err = ds.Move(ctx, actor.Actor{}, d, decision.StatusAwaitingApproval, decision.Change{ApprovalID: "apr_held"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitFor polls until ok or the context ends.
func waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		if ctx.Err() != nil {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTheSlackWorkerPostsADecisionThenUpdatesItsMessage: a decision's
// first event reaches Slack through the stream as a message with its
// buttons; approving it updates that same message, without buttons.
func TestTheSlackWorkerPostsADecisionThenUpdatesItsMessage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, api, ds := slackPlatform(ctx, t, 0)
	d := propose(ctx, t, ds)
	// Proposed, then held: one message, posted then updated with its
	// buttons.
	waitFor(ctx, t, "the post and its update", func() bool { posts, updates := api.calls(); return len(posts) == 1 && len(updates) == 1 })
	posts, updates := api.calls()
	if posts[0].Get("channel") != "#agent" || !strings.Contains(updates[0].Get("blocks"), `"action_id":"gpubroker_approve","value":"`+d.ID+`"`) {
		t.Fatalf("posted %v, updated %v", posts[0], updates[0])
	}
	admin := actor.Actor{Kind: actor.KindSlack, ID: "u-admin", TenantID: "default", Role: actor.RolePodAdmin}
	if _, err := ds.Move(ctx, admin, d, decision.StatusApproved, decision.Change{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the update", func() bool { _, updates := api.calls(); return len(updates) == 2 })
	posts, updates = api.calls()
	if len(posts) != 1 || updates[1].Get("channel") != "C0AGENT" || updates[1].Get("ts") != "1700000000.000001" {
		t.Fatalf("%d posts, update %v", len(posts), updates[1])
	}
	if b := updates[1].Get("blocks"); strings.Contains(b, "gpubroker_approve") || !strings.Contains(b, "Approved") {
		t.Fatalf("the update shows %s", b)
	}
}

// TestTheSlackWorkerPostsOnceSlackIsBack: while Slack answers 503 the
// worker keeps trying; once it is back the decision is posted, once, and
// its message updated to the status it reached meanwhile (awaiting
// approval, with its buttons).
func TestTheSlackWorkerPostsOnceSlackIsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, api, ds := slackPlatform(ctx, t, 20*time.Millisecond)
	api.down.Store(true)
	propose(ctx, t, ds)
	// The wait between tries doubles from 20 ms: Slack comes back after
	// the first refusal, before the waits grow long on a loaded machine.
	waitFor(ctx, t, "a try while Slack is down", func() bool { return api.refused.Load() >= 1 })
	if posts, _ := api.calls(); len(posts) != 0 {
		t.Fatalf("posted while down: %v", posts)
	}
	api.down.Store(false)
	// Delivery is at least once: a redelivered event may render the same
	// revision again, but the decision is posted once and its message
	// ends showing where the decision is.
	shown := func() bool {
		posts, updates := api.calls()
		return len(posts) == 1 && len(updates) > 0 && strings.Contains(updates[len(updates)-1].Get("blocks"), "gpubroker_approve")
	}
	for !shown() {
		if ctx.Err() != nil {
			posts, updates := api.calls()
			t.Fatalf("once Slack is back: %d posts, %d updates after %d refusals", len(posts), len(updates), api.refused.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if posts, _ := api.calls(); len(posts) != 1 {
		t.Fatalf("%d posts; want one", len(posts))
	}
}

// TestTheInteractionsRouteRefusesAForgedRequest: mounted as the platform
// mounts it, the route verifies with the global signing secret, answers
// a forged request 401 and audits the refusal in the platform's log.
func TestTheInteractionsRouteRefusesAForgedRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, api, _ := slackPlatform(ctx, t, 20*time.Millisecond)
	if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Key: "slack.signing_secret", Value: "global-secret",
		Confirm: "global"}); err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Method(http.MethodPost, "/slack/interactions", slackInteractions(newSlackFace(a.Tools, a.Store, a.Params, a.Tenants, api.srv.GetAPIURL(), a.log)))
	srv := httptest.NewServer(r)
	defer srv.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/slack/interactions", strings.NewReader("payload=%7B%7D"))
	req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(time.Now().Unix()))
	req.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a forged request answered %d", resp.StatusCode)
	}
	recs, err := a.Store.QueryAudit(ctx, audit.Filter{Action: "slack.interaction"})
	if err != nil || len(recs) != 1 || recs[0].Verdict != "deny" || recs[0].Face != audit.FaceSlack {
		t.Fatalf("audit %+v, %v", recs, err)
	}
}
