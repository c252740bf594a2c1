package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/agent"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/secrets"
	"github.com/gpubroker/pod/store"
)

// desk is the tools a model test's agent is given: one that lists offers,
// recording each call.
type desk struct {
	mu    sync.Mutex
	calls []string
}

func (d *desk) Specs() []agent.ToolSpec {
	return []agent.ToolSpec{{Name: "list_offers", Description: "List the GPU offers, cheapest first.",
		Schema: json.RawMessage(`{"type":"object","properties":{"gpu":{"type":"string"}}}`)}}
}

func (d *desk) Call(_ context.Context, c agent.Call) (json.RawMessage, error) {
	name, args := c.Reply.Tool, c.Reply.Args
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, name+" "+string(args))
	if name != "list_offers" {
		return nil, errors.New("no such tool")
	}
	return json.RawMessage(`{"offers":[{"id":"lambda-h100","gpu":"H100","price_per_hour":"2.49"}]}`), nil
}

// modelServer is a local model API: it accepts the requests accept
// allows, answers each with the next of its scripted bodies, and keeps
// the requests. Without an answer left it fails the call.
type modelServer struct {
	accept func(r *http.Request) bool
	// hold, when set, keeps each request until the client gives up.
	hold bool

	mu       sync.Mutex
	answers  []string
	requests []map[string]any
}

func (s *modelServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.hold {
		// The server notices the client leave only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || !s.accept(r) {
		http.Error(w, `{"error":{"type":"not_found","message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req map[string]any
	_ = json.NewDecoder(r.Body).Decode(&req)
	s.requests = append(s.requests, req)
	if len(s.answers) == 0 {
		http.Error(w, `{"error":{"type":"api_error","message":"the script ran out"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(s.answers[0]))
	s.answers = s.answers[1:]
}

func (s *modelServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *modelServer) request(t *testing.T, i int) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.requests) {
		t.Fatalf("the server had %d requests, not %d", len(s.requests), i+1)
	}
	return s.requests[i]
}

// anthropicAPI accepts Anthropic's Messages API with the key sk-ant-test.
func anthropicAPI(r *http.Request) bool {
	return r.URL.Path == "/v1/messages" && r.Header.Get("x-api-key") == "sk-ant-test" && r.Header.Get("anthropic-version") != ""
}

// snapshot is the parameters with values set globally, as an operator
// sets them.
func snapshot(t *testing.T, values map[string]string) *params.Snapshot {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.New(t, "sqlite").URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := params.NewCatalog(params.Platform())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	lk, err := secrets.NewLocalKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ps := params.NewService(cat, st, secrets.NewEnvelope(lk))
	if err := ps.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	op := actor.Actor{Kind: actor.KindUser, ID: "op", TenantID: "default", Role: actor.RolePodAdmin}
	for k, v := range values {
		if _, err := ps.Set(ctx, op, params.SetRequest{Key: k, Value: v, Confirm: "global"}); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	return ps.Snapshot()
}

// TestAnAnthropicModelStepsThroughToolUseBlocks: the model ModelFor builds
// for agent.planner anthropic talks to a local Messages API through
// langchaingo's client. The tools are declared natively, the model's
// tool_use block is the step (its words before it the thoughts), the next
// request carries that call and its tool_result under one id, and the
// tokens of each call are counted once and priced exactly.
func TestAnAnthropicModelStepsThroughToolUseBlocks(t *testing.T) {
	s := &modelServer{accept: anthropicAPI, answers: []string{
		`{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":[` +
			`{"type":"text","text":"I will look at the offers."},` +
			`{"type":"tool_use","id":"toolu_1","name":"list_offers","input":{"gpu":"H100"}}],` +
			`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":1203,"output_tokens":77}}`,
		`{"id":"msg_2","type":"message","role":"assistant","model":"claude-test","content":[` +
			`{"type":"tool_use","id":"toolu_2","name":"response","input":{"text":"lambda-h100 at $2.49/h"}}],` +
			`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":1500,"output_tokens":41}}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	m, err := agent.ModelFor(snapshot(t, map[string]string{
		"agent.planner": "anthropic", "agent.model": "claude-test", "agent.endpoint": srv.URL + "/v1", "agent.api_key": "sk-ant-test",
		"agent.price_input_per_mtok_usd": "0.80", "agent.price_output_per_mtok_usd": "4",
	}), "acme", mode.Sandbox, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	out := askCheapestH100(t, m, "lambda-h100 at $2.49/h")
	// 1203 × 0.80 = 962.4 → 962, 77 × 4 = 308, 1500 × 0.80 = 1200, 41 × 4 = 164 micro-dollars.
	if out.InputTokens != 2703 || out.OutputTokens != 118 || out.Cost != 2634*money.Micro {
		t.Fatalf("usage %d in, %d out, cost %s", out.InputTokens, out.OutputTokens, out.Cost)
	}
	first := s.request(t, 0)
	tools, _ := first["tools"].([]any)
	if first["model"] != "claude-test" || len(tools) != 3 || !strings.Contains(first["system"].(string), "list_offers") {
		t.Fatalf("the first request: %v", first)
	}
	if tool, _ := tools[0].(map[string]any); tool["name"] != "list_offers" || tool["input_schema"] == nil {
		t.Fatalf("the first tool: %v", tools[0])
	}
	msgs, _ := s.request(t, 1)["messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("the second request's messages: %v", msgs)
	}
	block := func(i int) map[string]any {
		content, _ := msgs[i].(map[string]any)["content"].([]any)
		if len(content) != 1 {
			t.Fatalf("message %d: %v", i, msgs[i])
		}
		b, _ := content[0].(map[string]any)
		return b
	}
	use, result := block(1), block(2)
	if msgs[1].(map[string]any)["role"] != "assistant" || use["type"] != "tool_use" || use["name"] != "list_offers" ||
		msgs[2].(map[string]any)["role"] != "user" || result["type"] != "tool_result" || result["tool_use_id"] != use["id"] ||
		!strings.Contains(result["content"].(string), "lambda-h100") {
		t.Fatalf("the call and its result: %v / %v", msgs[1], msgs[2])
	}
}

// TestAnOllamaModelAnswersTheJSONReply: langchaingo's Ollama client sends
// text only, so the model is asked for JSON, the history goes as text
// (each result a user message naming its tool), and its answer is read as
// the JSON reply; its eval counts are the tokens.
func TestAnOllamaModelAnswersTheJSONReply(t *testing.T) {
	s := &modelServer{accept: func(r *http.Request) bool { return r.URL.Path == "/api/chat" }, answers: []string{
		`{"model":"llama-test","message":{"role":"assistant","content":"{\"thoughts\":[\"list first\"],\"tool_name\":\"list_offers\",\"tool_args\":{\"gpu\":\"H100\"}}"},"done":true,"prompt_eval_count":300,"eval_count":25}`,
		`{"model":"llama-test","message":{"role":"assistant","content":"{\"tool_name\":\"response\",\"tool_args\":{\"text\":\"lambda-h100\"}}"},"done":true,"prompt_eval_count":410,"eval_count":18}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	m, err := agent.NewOllama(agent.OllamaConfig{Model: "llama-test", BaseURL: srv.URL, Client: srv.Client(),
		Prices: agent.Prices{InputPerMTok: 10 * money.Cent, OutputPerMTok: 20 * money.Cent}})
	if err != nil {
		t.Fatal(err)
	}
	out := askCheapestH100(t, m, "lambda-h100")
	// 300 × 0.1 = 30, 25 × 0.2 = 5, 410 × 0.1 = 41, 18 × 0.2 = 3.6 → 4 micro-dollars.
	if out.InputTokens != 710 || out.OutputTokens != 43 || out.Cost != 80*money.Micro {
		t.Fatalf("usage %d in, %d out, cost %s", out.InputTokens, out.OutputTokens, out.Cost)
	}
	second := s.request(t, 1)
	msgs, _ := second["messages"].([]any)
	if second["model"] != "llama-test" || second["format"] != "json" || second["tools"] != nil || len(msgs) != 4 {
		t.Fatalf("the second request: %v", second)
	}
	roles := ""
	for _, m := range msgs {
		roles += m.(map[string]any)["role"].(string) + " "
	}
	last, _ := msgs[3].(map[string]any)["content"].(string)
	if roles != "system user assistant user " || !strings.HasPrefix(last, "Result of list_offers:") || !strings.Contains(last, "lambda-h100") {
		t.Fatalf("the history as text: %s/ %q", roles, last)
	}
}

// TestABedrockAnthropicModelStepsThroughInvokeModel: langchaingo's Bedrock
// client, given an aws-sdk-go-v2 runtime client pointed at a local
// endpoint with static credentials, signs InvokeModel for an anthropic.*
// model id, declares the tools in Anthropic's Bedrock body and reads the
// tool_use block as the step.
func TestABedrockAnthropicModelStepsThroughInvokeModel(t *testing.T) {
	const id = "anthropic.claude-3-5-haiku-20241022-v1:0"
	s := &modelServer{accept: func(r *http.Request) bool {
		return r.URL.Path == "/model/"+id+"/invoke" && strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/")
	}, answers: []string{
		`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Listing."},` +
			`{"type":"tool_use","id":"toolu_1","name":"list_offers","input":{"gpu":"H100"}}],"stop_reason":"tool_use","usage":{"input_tokens":900,"output_tokens":60}}`,
		`{"id":"msg_2","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_2","name":"response","input":{"text":"lambda-h100"}}],` +
			`"stop_reason":"tool_use","usage":{"input_tokens":1000,"output_tokens":30}}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	m, err := agent.NewBedrock(context.Background(), agent.BedrockConfig{Model: id, Endpoint: srv.URL, Region: "us-east-1",
		Key: "AKIDTEST:bedrock-secret", HTTPClient: srv.Client(), Prices: agent.Prices{InputPerMTok: money.Dollar, OutputPerMTok: 5 * money.Dollar}})
	if err != nil {
		t.Fatal(err)
	}
	out := askCheapestH100(t, m, "lambda-h100")
	if out.InputTokens != 1900 || out.OutputTokens != 90 || out.Cost != (1900+90*5)*money.Micro {
		t.Fatalf("usage %d in, %d out, cost %s", out.InputTokens, out.OutputTokens, out.Cost)
	}
	first := s.request(t, 0)
	tools, _ := first["tools"].([]any)
	if first["anthropic_version"] != "bedrock-2023-05-31" || len(tools) != 3 || !strings.Contains(first["system"].(string), "list_offers") {
		t.Fatalf("the first request: %v", first)
	}
	msgs, _ := s.request(t, 1)["messages"].([]any)
	if len(msgs) != 3 || !strings.Contains(mustMarshal(msgs[1]), `"type":"tool_use"`) || !strings.Contains(mustMarshal(msgs[2]), `"type":"tool_result"`) {
		t.Fatalf("the second request's messages: %v", msgs)
	}
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestModelForBuildsTheChosenPlanner: the builtin planner is the default;
// a planner that needs a key and has none, a Bedrock key of the wrong
// shape and options that cannot be read are errors naming the parameter
// (and never holding the key); a fallback makes a Fallback, but another
// provider's fallback is never handed the planner's key.
func TestModelForBuildsTheChosenPlanner(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		want   string // the model's type, or the error's words
		fails  bool
	}{
		{"the builtin planner is the default", nil, "agent.Builtin", false},
		{"openai without a key is an error naming agent.api_key", map[string]string{"agent.planner": "openai"}, "agent.api_key", true},
		{"anthropic without a key is an error naming agent.api_key", map[string]string{"agent.planner": "anthropic"}, "agent.api_key", true},
		{"anthropic with a key is a language model", map[string]string{"agent.planner": "anthropic", "agent.api_key": "sk-ant-x"}, "*agent.LLM", false},
		{"ollama needs no key", map[string]string{"agent.planner": "ollama", "agent.endpoint": "http://127.0.0.1:1"}, "*agent.LLM", false},
		{"a Bedrock key not of id and secret names agent.api_key and hides the key",
			map[string]string{"agent.planner": "bedrock", "agent.api_key": "sk-hidden-value"}, "agent.api_key", true},
		{"options that cannot be read name agent.model_options",
			map[string]string{"agent.model_options": `{"temprature":0.2}`}, "agent.model_options", true},
		{"a fallback makes a Fallback",
			map[string]string{"agent.planner": "anthropic", "agent.api_key": "sk-ant-x", "agent.fallback_planner": "builtin"}, "*agent.Fallback", false},
		{"another provider's fallback is not handed the key",
			map[string]string{"agent.planner": "anthropic", "agent.api_key": "sk-ant-x", "agent.fallback_planner": "openai"}, "agent.fallback_planner openai", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := agent.ModelFor(snapshot(t, tt.values), "acme", mode.Live, time.Now)
			if tt.fails {
				if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "sk-") {
					t.Fatalf("want an error naming %s without the key, got %v", tt.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(m); got != tt.want {
				t.Fatalf("model %s, want %s", got, tt.want)
			}
		})
	}
}

func typeName(m agent.Model) string {
	switch m.(type) {
	case agent.Builtin:
		return "agent.Builtin"
	case *agent.LLM:
		return "*agent.LLM"
	case *agent.Fallback:
		return "*agent.Fallback"
	}
	return "another model"
}

// TestTheFallbackAnswersWhenThePlannerFails: a planner whose API fails
// (here with a 500) is followed by the fallback, the builtin planner,
// which answers; the count says who did.
func TestTheFallbackAnswersWhenThePlannerFails(t *testing.T) {
	s := &modelServer{accept: anthropicAPI} // no answers: every call fails
	srv := httptest.NewServer(s)
	defer srv.Close()
	m, err := agent.ModelFor(snapshot(t, map[string]string{"agent.planner": "anthropic", "agent.endpoint": srv.URL + "/v1",
		"agent.api_key": "sk-ant-test", "agent.fallback_planner": "builtin"}), "acme", mode.Sandbox, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	out, err := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: &desk{}}).Communicate(context.Background(), "what can you do?")
	if err != nil || out.Ending != agent.Responded || !strings.Contains(out.Response, "no goal") {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if p, f := m.(*agent.Fallback).Answered(); p != 0 || f != 1 || s.count() != 1 {
		t.Fatalf("answered by the planner %d, by the fallback %d, after %d requests", p, f, s.count())
	}
}

// failing fails every call, with the context's error when it is done.
type failing struct{ calls int }

func (f *failing) Next(ctx context.Context, _ agent.Prompt) (agent.Answer, error) {
	f.calls++
	if ctx.Err() != nil {
		return agent.Answer{}, ctx.Err()
	}
	return agent.Answer{}, errors.New("the provider is down")
}

// TestAFallbackAsksTheSecondModelOnlyWhenTheFirstFails: the primary's
// answer is taken; its error sends the call to the secondary; a caller
// that gave up is not answered by the secondary; when both fail the error
// names both.
func TestAFallbackAsksTheSecondModelOnlyWhenTheFirstFails(t *testing.T) {
	answer := agent.Builtin{Now: time.Now}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name             string
		ctx              context.Context
		primary, second  agent.Model
		wantErr          string
		wantFirst, wantS int64
	}{
		{"the primary's answer is taken", context.Background(), answer, &failing{}, "", 1, 0},
		{"the primary's error sends the call to the secondary", context.Background(), &failing{}, answer, "", 0, 1},
		{"a caller that gave up is not answered", cancelled, &failing{}, answer, "context canceled", 0, 0},
		{"both failing is an error naming both", context.Background(), &failing{}, &failing{}, "planner/a failed (the provider is down), and so did its fallback planner/b", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &agent.Fallback{Primary: tt.primary, Secondary: tt.second, PrimaryName: "planner/a", SecondaryName: "planner/b"}
			_, err := f.Next(tt.ctx, agent.Prompt{History: []agent.Message{{Role: agent.RoleUser, Content: "hello"}}})
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if p, s := f.Answered(); p != tt.wantFirst || s != tt.wantS {
				t.Fatalf("answered %d and %d, want %d and %d", p, s, tt.wantFirst, tt.wantS)
			}
			if sf, ok := tt.second.(*failing); ok && tt.ctx.Err() != nil && sf.calls != 0 {
				t.Fatalf("the secondary was asked %d times after the caller gave up", sf.calls)
			}
		})
	}
}

// TestTheModelTimeoutBoundsEachCall: a planner that does not answer within
// agent.model_timeout fails the call with the deadline, and its fallback
// then answers.
func TestTheModelTimeoutBoundsEachCall(t *testing.T) {
	srv := httptest.NewServer(&modelServer{accept: anthropicAPI, hold: true})
	defer srv.Close()
	base := map[string]string{"agent.planner": "anthropic", "agent.endpoint": srv.URL + "/v1", "agent.api_key": "sk-ant-test", "agent.model_timeout": "1s"}
	p := agent.Prompt{System: "sys", History: []agent.Message{{Role: agent.RoleUser, Content: "hello"}}}

	m, err := agent.ModelFor(snapshot(t, base), "acme", mode.Sandbox, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = m.Next(context.Background(), p)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took < time.Second || took > 5*time.Second {
		t.Fatalf("without a fallback: %v after %s", err, took)
	}

	base["agent.fallback_planner"] = "builtin"
	m, err = agent.ModelFor(snapshot(t, base), "acme", mode.Sandbox, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := m.Next(context.Background(), p)
	if err != nil || !strings.Contains(ans.Text, `"tool_name":"response"`) {
		t.Fatalf("with the builtin fallback: %+v, %v", ans, err)
	}
}

// TestAKeyNeverReachesAnError: a server that echoes the key in its error
// message does not put it in the model's error.
func TestAKeyNeverReachesAnError(t *testing.T) {
	const key = "sk-ant-very-secret-0123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+r.Header.Get("x-api-key")+`"}}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	m, err := agent.NewAnthropic(agent.AnthropicConfig{Model: "claude-test", BaseURL: srv.URL + "/v1", Key: key, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Next(context.Background(), agent.Prompt{System: "sys", History: []agent.Message{{Role: agent.RoleUser, Content: "hello"}}})
	if err == nil || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "invalid x-api-key [redacted]") {
		t.Fatalf("error %v", err)
	}
}

// TestPricesCostTokensInIntegerMicros: a call's cost is tokens × the price
// of a million, in micro-dollars, each part rounded half away from zero;
// a cost out of range is an error, not a wrapped number.
func TestPricesCostTokensInIntegerMicros(t *testing.T) {
	tests := []struct {
		name    string
		p       agent.Prices
		in, out int
		want    money.Amount
		fails   bool
	}{
		{"free models cost nothing", agent.Prices{}, 1_000_000, 1_000_000, 0, false},
		{"a million tokens cost the price", agent.Prices{InputPerMTok: 3 * money.Dollar, OutputPerMTok: 15 * money.Dollar}, 1_000_000, 1_000_000, 18 * money.Dollar, false},
		{"half a micro-dollar rounds up", agent.Prices{InputPerMTok: money.MustParse("0.50")}, 1, 0, 1, false},
		{"less than half rounds down", agent.Prices{OutputPerMTok: money.MustParse("0.40")}, 0, 1, 0, false},
		{"an out-of-range cost is an error", agent.Prices{InputPerMTok: money.Max}, 2_000_000, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Cost(tt.in, tt.out)
			if (err != nil) != tt.fails || got != tt.want {
				t.Fatalf("cost %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// askCheapestH100 runs the task the model tests give, and checks that it
// listed H100 offers once and answered want.
func askCheapestH100(t *testing.T, m agent.Model, want string) agent.Outcome {
	t.Helper()
	d := &desk{}
	out, err := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: d}).Communicate(context.Background(), "cheapest H100?")
	if err != nil || out.Ending != agent.Responded || out.Response != want {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if len(d.calls) != 1 || d.calls[0] != `list_offers {"gpu":"H100"}` {
		t.Fatalf("calls %v", d.calls)
	}
	return out
}
