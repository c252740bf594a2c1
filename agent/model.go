package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"
)

// LLM is a language model behind langchaingo's interface, asked with
// native tool calling: the tools are declared to it, its tool call is the
// step, and the history is given back as tool calls and their results.
// A model that answers text instead is read as the JSON reply.
type LLM struct {
	Model llms.Model
	// Timeout bounds one call (none when zero).
	Timeout time.Duration
}

// OpenAIConfig names an OpenAI-compatible chat model.
type OpenAIConfig struct {
	Model   string
	BaseURL string // empty: OpenAI's own
	Key     string
	Client  *http.Client
	Timeout time.Duration
}

// NewOpenAI is the model of an OpenAI-compatible endpoint, through
// langchaingo's OpenAI client.
func NewOpenAI(c OpenAIConfig) (*LLM, error) {
	opts := []openai.Option{openai.WithModel(c.Model), openai.WithToken(c.Key)}
	if c.BaseURL != "" {
		opts = append(opts, openai.WithBaseURL(c.BaseURL))
	}
	if c.Client != nil {
		opts = append(opts, openai.WithHTTPClient(c.Client))
	}
	m, err := openai.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("the OpenAI model %s: %w", c.Model, err)
	}
	return &LLM{Model: m, Timeout: c.Timeout}, nil
}

// Next implements Model.
func (l *LLM) Next(ctx context.Context, p Prompt) (Answer, error) {
	if l.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Timeout)
		defer cancel()
	}
	tools := make([]llms.Tool, 0, len(p.Tools))
	for _, t := range p.Tools {
		var schema any = map[string]any{"type": "object"}
		if len(t.Schema) > 0 {
			schema = json.RawMessage(t.Schema)
		}
		tools = append(tools, llms.Tool{Type: "function", Function: &llms.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: schema}})
	}
	resp, err := l.Model.GenerateContent(ctx, messagesOf(p), llms.WithTools(tools))
	if err != nil {
		return Answer{}, fmt.Errorf("the model: %w", err)
	}
	if len(resp.Choices) == 0 {
		return Answer{}, fmt.Errorf("the model answered no choice")
	}
	c := resp.Choices[0]
	out := Answer{Text: c.Content, InputTokens: intOf(c.GenerationInfo["PromptTokens"]), OutputTokens: intOf(c.GenerationInfo["CompletionTokens"])}
	if len(c.ToolCalls) > 0 && c.ToolCalls[0].FunctionCall != nil {
		fc := c.ToolCalls[0].FunctionCall
		args := json.RawMessage(fc.Arguments)
		if !json.Valid(args) {
			// A call whose arguments are not JSON is read like a reply,
			// and its error goes back to the model.
			b, _ := json.Marshal(map[string]any{"tool_name": fc.Name, "tool_args": fc.Arguments})
			out.Text = string(b)
			return out, nil
		}
		out.Call = &Reply{Tool: fc.Name, Args: args}
		if c.Content != "" {
			out.Call.Thoughts = []string{c.Content}
		}
	}
	return out, nil
}

func intOf(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

// messagesOf is the prompt as chat messages: each reply the history holds
// becomes the tool call it was (with an id made from its place), and the
// tool result after it the answer to that id; a reply that could not be
// read stays text, and what answered it a user message.
func messagesOf(p Prompt) []llms.MessageContent {
	out := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeSystem, p.System)}
	callID := ""
	for i, m := range p.History {
		switch m.Role {
		case RoleAssistant:
			r, err := ParseReply(m.Content)
			if err != nil {
				callID = ""
				out = append(out, llms.TextParts(llms.ChatMessageTypeAI, m.Content))
				continue
			}
			callID = fmt.Sprintf("call_%d", i)
			out = append(out, llms.MessageContent{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{
				llms.ToolCall{ID: callID, Type: "function", FunctionCall: &llms.FunctionCall{Name: r.Tool, Arguments: string(r.Args)}}}})
		case RoleTool:
			if callID == "" {
				out = append(out, llms.TextParts(llms.ChatMessageTypeHuman, m.Content))
				continue
			}
			out = append(out, llms.MessageContent{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{
				llms.ToolCallResponse{ToolCallID: callID, Name: m.Tool, Content: m.Content}}})
			callID = ""
		default:
			callID = ""
			out = append(out, llms.TextParts(llms.ChatMessageTypeHuman, m.Content))
		}
	}
	return out
}
