package app

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/slack"
	"github.com/gpubroker/pod/tools"
)

// procurer is a local OpenAI-compatible chat completions endpoint playing
// a model that answers with native tool calls: it lists A100 offers,
// configures a draft on the cheapest, deploys it, and ends with the
// response tool, each step read from the last tool result it was sent.
type procurer struct {
	mu    sync.Mutex
	steps int
}

func (p *procurer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.steps++
	p.mu.Unlock()
	last := req.Messages[len(req.Messages)-1]
	var tool string
	var args any
	switch {
	case last.Role == "user":
		tool, args = "list_offers", map[string]any{"gpu": "A100-SXM-80GB", "gpu_count": 1, "availability": "available", "sort": "price", "limit": 1}
	case strings.Contains(last.Content, `"offers"`):
		var page struct {
			Offers []struct {
				ID       string `json:"id"`
				Provider string `json:"provider"`
				VCPU     int    `json:"vcpu"`
				DiskGB   int    `json:"disk_gb"`
			} `json:"offers"`
		}
		_ = json.Unmarshal([]byte(last.Content), &page)
		o := page.Offers[0]
		tool, args = "configure_pod", map[string]any{"name": "llm-a100", "gpu": "A100-SXM-80GB", "gpu_count": 1, "provider": o.Provider,
			"offer_id": o.ID, "vcpu": o.VCPU, "ram_gib": 64, "disk_gib": max(o.DiskGB, 20), "image": "cuda-12.4-base", "pricing": "on_demand"}
	case strings.Contains(last.Content, `"state":"draft"`):
		var q struct {
			Pod struct {
				ID string `json:"id"`
			} `json:"pod"`
		}
		_ = json.Unmarshal([]byte(last.Content), &q)
		tool, args = "deploy_pod", map[string]any{"id": q.Pod.ID}
	default:
		tool, args = "response", map[string]any{"text": "the A100 is deployed or waits for your approval: " + last.Content}
	}
	a, _ := json.Marshal(args)
	call, _ := json.Marshal(map[string]any{"role": "assistant", "content": "", "tool_calls": []map[string]any{{"id": "call_" + strconv.Itoa(p.steps),
		"type": "function", "function": map[string]any{"name": tool, "arguments": string(a)}}}})
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1,"model":"gpt-test","choices":[{"index":0,"message":%s,`+
		`"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":500,"completion_tokens":40,"total_tokens":540}}`, p.steps, call)
}

// signedClick posts a click on action of decision id by a Slack user to
// the platform's interactions route, signed with secret now.
func signedClick(t *testing.T, base, secret, action, id, slackUser string, at time.Time) (int, string) {
	t.Helper()
	p, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "trig-1", "user": map[string]any{"id": slackUser, "name": "ops"},
		"team": map[string]any{"id": "T0ACME"}, "channel": map[string]any{"id": "C0AGENT"},
		"container": map[string]any{"type": "message", "channel_id": "C0AGENT", "message_ts": "1700000000.000001"},
		"actions":   []map[string]any{{"type": "button", "action_id": action, "block_id": "gpubroker_decision_actions", "value": id}},
	})
	body := url.Values{"payload": {string(p)}}.Encode()
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/interactions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAModelsDeployWaitsInSlackUntilASignedClickApprovesIt: an admin asks
// the agent, whose model (agent.planner openai) is a local
// OpenAI-compatible server langchaingo's client talks to. It lists
// offers, configures and deploys within budget, and ends with the
// response tool. The deploy costs more than the approval threshold: it
// waits, and its message in Slack gets the buttons. A POD Admin's signed
// click approves it through the tools as face slack; it runs, and the
// message is updated with the outcome. A forged click changes nothing.
func TestAModelsDeployWaitsInSlackUntilASignedClickApprovesIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	model := httptest.NewServer(&procurer{})
	defer model.Close()
	api := newSlackAPI(t)
	a := seededWith(ctx, t, Config{SlackAPIURL: api.srv.GetAPIURL()})
	setGlobal(ctx, t, a, "agent.approval", "above_cost", "agent.approval_above_usd", "1", "slack.signing_secret", "signing-secret",
		agent.ParamPlanner, "openai", agent.ParamModel, "gpt-test", agent.ParamEndpoint, model.URL+"/v1", agent.ParamAPIKey, "sk-test",
		agent.ParamPriceInput, "2", agent.ParamPriceOutput, "8")
	for key, value := range map[string]string{"slack.enabled": "true", "slack.bot_token": "xoxb-test", "slack.channel": "#agent"} {
		if _, err := a.Params.Set(ctx, actor.System("test"), params.SetRequest{Scope: params.Scope{TenantID: "default"}, Key: key,
			Value: value, Confirm: "default"}); err != nil {
			t.Fatal(key, err)
		}
	}
	admin := seededAdmin(ctx, t, a)
	if res := callAs(ctx, t, a, admin, tools.ToolSetSlackUser, `{"user_id":"`+admin.ID+`","slack_user_id":"U0ADMIN"}`); res.Err != nil {
		t.Fatal(res.Err)
	}

	res := callAs(ctx, t, a, admin, tools.ToolSendAgentMessage, `{"message":"deploy one A100 for the fine-tune, cheapest first"}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	out := res.Output.(tools.AgentReply).Outcome
	// Four steps of 540 tokens at $2 and $8 a million.
	if out == nil || out.Ending != "responded" || !strings.Contains(out.Response, "awaiting_approval") || out.Tokens != 4*540 ||
		out.Cost.Decimal() != "0.00528" {
		t.Fatalf("the task: %+v", out)
	}
	deploy := byTool(t, decisionsOf(ctx, t, a, admin, `{}`), tools.ToolDeployPod)
	// The model's reply is kept with the decision, for replay.
	deploy, _ = a.Decisions.Decision(ctx, admin.TenantID, deploy.ID)
	if deploy.Status != decision.StatusAwaitingApproval || !strings.Contains(deploy.Reply, "deploy_pod") {
		t.Fatalf("deploy: %+v", deploy)
	}
	waitFor(ctx, t, "the deploy's message with its buttons", func() bool {
		_, updates := api.calls()
		for _, u := range updates {
			if strings.Contains(u.Get("blocks"), `"value":"`+deploy.ID+`"`) && strings.Contains(u.Get("blocks"), slack.ActionApprove) {
				return true
			}
		}
		return false
	})

	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	if code, _ := signedClick(t, srv.URL, "forged-secret", slack.ActionApprove, deploy.ID, "U0ADMIN", time.Now()); code != http.StatusUnauthorized {
		t.Fatalf("a forged click: %d", code)
	}
	if code, _ := signedClick(t, srv.URL, "signing-secret", slack.ActionApprove, deploy.ID, "U0STRANGER", time.Now()); code != http.StatusOK {
		t.Fatalf("a stranger's click: %d", code)
	}
	if d, _ := a.Decisions.Decision(ctx, admin.TenantID, deploy.ID); d.Status != decision.StatusAwaitingApproval {
		t.Fatalf("after a forged and a stranger's click the deploy is %s", d.Status)
	}
	if code, body := signedClick(t, srv.URL, "signing-secret", slack.ActionApprove, deploy.ID, "U0ADMIN", time.Now()); code != http.StatusOK {
		t.Fatalf("the admin's click: %d %s", code, body)
	}
	d, err := a.Decisions.Decision(ctx, admin.TenantID, deploy.ID)
	if err != nil || d.Status != decision.StatusExecuted || d.DecidedBy != admin.ID {
		t.Fatalf("approved in Slack: %+v %v", d, err)
	}
	waitFor(ctx, t, "the message updated with the outcome", func() bool {
		_, updates := api.calls()
		last := updates[len(updates)-1].Get("blocks")
		return strings.Contains(last, "executed") && !strings.Contains(last, slack.ActionApprove)
	})

	a.Audit.Flush()
	recs, err := a.Store.QueryAudit(ctx, audit.Filter{TenantID: admin.TenantID, Action: tools.ToolApproveDecision})
	if err != nil || len(recs) != 1 || recs[0].Face != audit.FaceSlack || recs[0].Actor.Kind != actor.KindSlack || recs[0].Actor.ID != admin.ID {
		t.Fatalf("the approval's audit: %+v %v", recs, err)
	}
}
