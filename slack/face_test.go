package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/slack"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

const (
	secret     = "8f742231b10e8888abcd99yyyzzz85a5"
	token      = "xoxb-test-token"
	slackAdmin = "U0ADMIN"
)

// fakeTools records the calls the face makes and answers them from a
// table of decisions, as the decision tools would.
type fakeTools struct {
	mu        sync.Mutex
	calls     []tools.Request
	decisions map[string]decision.Decision
	// refuse answers every mutating call with this error.
	refuse error
}

func (f *fakeTools) Call(_ context.Context, req tools.Request) tools.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	var in struct {
		ID     string          `json:"id"`
		Tool   string          `json:"tool"`
		Args   json.RawMessage `json:"args"`
		Reason string          `json:"reason"`
	}
	_ = json.Unmarshal(req.Input, &in)
	d, ok := f.decisions[in.ID]
	if !ok {
		return tools.Result{Err: fault.NotFound("decision", in.ID)}
	}
	if req.Tool == tools.ToolGetDecision {
		return tools.Result{Output: d}
	}
	if f.refuse != nil {
		return tools.Result{Err: f.refuse}
	}
	d.Revision++
	d.DecidedBy = req.Actor.ID
	switch req.Tool {
	case tools.ToolApproveDecision:
		d.Status = decision.StatusApproved
	case tools.ToolRejectDecision:
		d.Status = decision.StatusRejected
	case tools.ToolOverrideDecision:
		d.Status, d.Override = decision.StatusOverridden, &decision.Override{Tool: in.Tool, Args: in.Args, Reason: in.Reason}
	}
	f.decisions[in.ID] = d
	return tools.Result{Output: d}
}

func (f *fakeTools) requests() []tools.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tools.Request(nil), f.calls...)
}

// rig is a face over a real SQLite store, fake tools and a fake Slack,
// with the tenants acme (Slack on) and beta.
type rig struct {
	face  *slack.Face
	st    *store.Store
	tools *fakeTools
	slack *fakeSlack
	srv   *httptest.Server
	now   time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	st := dbtest.Open(t, "sqlite")
	at := time.Now().UTC().Truncate(time.Microsecond)
	for _, id := range []string{"acme", "beta"} {
		if err := st.CreateTenant(ctx, tenant.Tenant{ID: id, Name: id, Mode: mode.Sandbox, CreatedAt: at, UpdatedAt: at},
			audit.Record{At: at, Actor: actor.System("test"), Action: "tenant.create", TenantID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []auth.User{
		{ID: "u-ana", TenantID: "acme", Email: "ana@acme.test", Name: "Ana", Role: actor.RolePodAdmin, EmailVerified: true},
		{ID: "u-bo", TenantID: "acme", Email: "bo@acme.test", Name: "Bo", Role: actor.RoleProUser, EmailVerified: true},
		{ID: "u-cy", TenantID: "acme", Email: "cy@acme.test", Name: "Cy", Role: actor.RolePodAdmin, EmailVerified: true},
		{ID: "u-di", TenantID: "beta", Email: "di@beta.test", Name: "Di", Role: actor.RolePodAdmin, EmailVerified: true},
	} {
		u.CreatedAt, u.UpdatedAt = at, at
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for user, slackID := range map[string]string{"u-ana": slackAdmin, "u-bo": "U0BO"} {
		if _, err := st.SetSlackUserID(ctx, "acme", user, slackID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.SetSlackUserID(ctx, "beta", "u-di", "U0DI"); err != nil {
		t.Fatal(err)
	}
	fs := newFakeSlack(t)
	ft := &fakeTools{decisions: map[string]decision.Decision{}}
	r := &rig{st: st, tools: ft, slack: fs, now: at}
	r.face = slack.New(slack.Deps{Tools: ft, Messages: st, Signatures: st, Users: st, Audit: st, APIURL: fs.URL(),
		Now: func() time.Time { return r.now },
		Configs: func(_ context.Context, tenantID string) (slack.Config, error) {
			switch tenantID {
			case "", "acme":
				return slack.Config{Enabled: true, BotToken: token, Channel: "#gpubroker-agent", SigningSecret: secret}, nil
			case "beta":
				return slack.Config{BotToken: token, Channel: "#beta", SigningSecret: "beta-own-secret"}, nil
			}
			return slack.Config{}, fault.NotFound("tenant", tenantID)
		}})
	mux := chi.NewRouter()
	mux.Method(http.MethodPost, "/slack/interactions", r.face.Interactions())
	mux.Method(http.MethodPost, "/slack/interactions/{tenant}", r.face.Interactions())
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// awaiting is a decision of acme waiting for an admin, as the agent
// proposed it.
func awaiting(id string) decision.Decision {
	return decision.Decision{ID: id, TenantID: "acme", TaskID: "task-1", Step: 2, AdminID: "u-ana",
		Thoughts: []string{"Training needs an H100 for six hours.", "Lambda is the cheapest with stock."},
		Headline: "Deploy an H100 on Lambda for the training run", Tool: "deploy_pod", Args: json.RawMessage(`{"id":"pod_1","hours":6}`),
		Preview: decision.Preview{Effect: "deploy pod pod_1", Cost: money.MustParse("14.94")},
		Verdict: decision.Verdict{Allowed: true, Rule: "agent_approval", Reason: "above the approval threshold"},
		Status:  decision.StatusAwaitingApproval, Revision: 1}
}

// show posts d through the face as the worker would, and keeps it where
// the fake tools find it.
func (r *rig) show(t *testing.T, d decision.Decision) {
	t.Helper()
	r.tools.mu.Lock()
	r.tools.decisions[d.ID] = d
	r.tools.mu.Unlock()
	if err := r.face.Show(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// sign signs body as Slack does, at the given time.
func sign(secret, body string, at time.Time) (ts, sig string) {
	ts = fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	return ts, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a form body signed with secret at, to path.
func (r *rig) post(t *testing.T, path, body, secret string, at time.Time) (int, string) {
	t.Helper()
	ts, sig := sign(secret, body, at)
	return r.postSigned(t, path, body, ts, sig)
}

func (r *rig) postSigned(t *testing.T, path, body, ts, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// click is the form body of a click on action of decision id by a Slack
// user.
func click(action, id, slackUser string) string {
	p, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "trig-" + action, "user": map[string]any{"id": slackUser, "name": "someone"},
		"team": map[string]any{"id": "T0ACME"}, "channel": map[string]any{"id": "C0AGENT"},
		"container": map[string]any{"type": "message", "channel_id": "C0AGENT", "message_ts": "1700000000.000001"},
		"actions":   []map[string]any{{"type": "button", "action_id": action, "block_id": "gpubroker_decision_actions", "value": id}},
	})
	return url.Values{"payload": {string(p)}}.Encode()
}

// submission is the form body of the override modal submitted with tool
// and args.
func submission(id, slackUser, tool, args, reason string) string {
	values := map[string]any{
		slack.BlockTool:   map[string]any{"value": map[string]any{"type": "plain_text_input", "value": tool}},
		slack.BlockArgs:   map[string]any{"value": map[string]any{"type": "plain_text_input", "value": args}},
		slack.BlockReason: map[string]any{"value": map[string]any{"type": "plain_text_input", "value": reason}},
	}
	p, _ := json.Marshal(map[string]any{
		"type": "view_submission", "trigger_id": "trig-submit", "user": map[string]any{"id": slackUser},
		"view": map[string]any{"id": "V0OVERRIDE", "callback_id": "gpubroker_override", "private_metadata": `{"decision":"` + id + `"}`,
			"state": map[string]any{"values": values}},
	})
	return url.Values{"payload": {string(p)}}.Encode()
}

// blocksOf decodes the blocks a chat call sent.
func blocksOf(t *testing.T, v url.Values) []map[string]any {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(v.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", v.Get("blocks"), err)
	}
	return blocks
}

// buttons lists the action id=value of every button in blocks.
func buttons(blocks []map[string]any) []string {
	var out []string
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, e := range b["elements"].([]any) {
			el := e.(map[string]any)
			out = append(out, fmt.Sprint(el["action_id"], "=", el["value"]))
		}
	}
	return out
}

func audited(t *testing.T, st *store.Store, outcome string) bool {
	t.Helper()
	recs, err := st.QueryAudit(context.Background(), audit.Filter{Action: "slack.interaction", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Verdict == "deny" && r.Face == audit.FaceSlack && strings.Contains(string(r.Input), `"outcome":"`+outcome+`"`) {
			return true
		}
	}
	return false
}
