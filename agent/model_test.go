package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gpubroker/pod/agent"
)

// chatServer is a local OpenAI-compatible chat completions endpoint that
// answers from a script and keeps the requests.
type chatServer struct {
	mu       sync.Mutex
	answers  []string // the assistant message of each answer, as JSON
	requests []map[string]any
}

func (s *chatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req map[string]any
	_ = json.NewDecoder(r.Body).Decode(&req)
	s.requests = append(s.requests, req)
	msg := s.answers[0]
	s.answers = s.answers[1:]
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-test","choices":[{"index":0,"message":` + msg +
		`,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}`))
}

// TestAnOpenAIModelStepsThroughNativeToolCalls: through langchaingo's
// OpenAI client, the tools are declared natively, the model's tool call
// is the step, the next request carries that call and its result under
// one id, and a plain-text JSON reply is read too; tokens are counted.
func TestAnOpenAIModelStepsThroughNativeToolCalls(t *testing.T) {
	s := &chatServer{answers: []string{
		`{"role":"assistant","content":"","tool_calls":[{"id":"x1","type":"function","function":{"name":"list_offers","arguments":"{\"gpu\":\"H100\"}"}}]}`,
		`{"role":"assistant","content":"{\"thoughts\":[\"lambda is cheapest\"],\"tool_name\":\"response\",\"tool_args\":{\"text\":\"lambda-h100\"}}"}`,
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	m, err := agent.NewOpenAI(agent.OpenAIConfig{Model: "gpt-test", BaseURL: srv.URL + "/v1", Key: "sk-test", Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{}
	out, err := agent.NewContext(agent.Config{Tenant: "acme", Model: m, Tools: f}).Communicate(context.Background(), "cheapest H100?")
	if err != nil || out.Ending != agent.Responded || out.Response != "lambda-h100" || out.InputTokens != 240 || out.OutputTokens != 60 {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if len(f.calls) != 1 || f.calls[0] != `list_offers {"gpu":"H100"}` {
		t.Fatalf("calls %v", f.calls)
	}
	tools, _ := s.requests[0]["tools"].([]any)
	if len(tools) != 4 || s.requests[0]["model"] != "gpt-test" {
		t.Fatalf("first request declares %d tools: %v", len(tools), s.requests[0])
	}
	msgs, _ := s.requests[1]["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("second request's messages: %v", msgs)
	}
	call, _ := msgs[2].(map[string]any)
	result, _ := msgs[3].(map[string]any)
	calls, _ := call["tool_calls"].([]any)
	if call["role"] != "assistant" || len(calls) != 1 || result["role"] != "tool" ||
		result["tool_call_id"] != calls[0].(map[string]any)["id"] || !strings.Contains(result["content"].(string), "lambda-h100") {
		t.Fatalf("the call and its result: %v / %v", call, result)
	}
}
