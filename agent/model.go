package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gpubroker/pod/money"

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
	// Prices turn the tokens of each call into its cost.
	Prices Prices
	// TextReplies is for a client that cannot declare tools: the history
	// goes as text (each result as a user message) and the model, asked
	// for JSON where the client can, answers the JSON reply the system
	// prompt describes.
	TextReplies bool
	// Options are given to every call (temperature, most output tokens).
	Options []llms.CallOption
	// secret is the credential the client holds: it is cut out of every
	// error, whatever the server or the client wrote into it.
	secret string
}

// Prices are what a model charges for a million tokens.
type Prices struct {
	InputPerMTok  money.Amount
	OutputPerMTok money.Amount
}

// Cost is what a call of in input and out output tokens costs, computed in
// integer micro-dollars (each part rounded half away from zero).
func (p Prices) Cost(in, out int) (money.Amount, error) {
	ci, err := p.InputPerMTok.MulRat(int64(in), 1_000_000)
	if err != nil {
		return 0, fmt.Errorf("the cost of %d input tokens: %w", in, err)
	}
	co, err := p.OutputPerMTok.MulRat(int64(out), 1_000_000)
	if err != nil {
		return 0, fmt.Errorf("the cost of %d output tokens: %w", out, err)
	}
	if ci > money.Max-co {
		return 0, fmt.Errorf("the cost of %d input and %d output tokens is out of range", in, out)
	}
	return ci + co, nil
}

// OpenAIConfig names an OpenAI-compatible chat model.
type OpenAIConfig struct {
	Model   string
	BaseURL string // empty: OpenAI's own
	Key     string
	Client  *http.Client
	Timeout time.Duration
	Prices  Prices
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
		return nil, redact(fmt.Errorf("the OpenAI model %s: %w", c.Model, err), c.Key)
	}
	return &LLM{Model: m, Timeout: c.Timeout, Prices: c.Prices, secret: c.Key}, nil
}

// Next implements Model.
func (l *LLM) Next(ctx context.Context, p Prompt) (Answer, error) {
	if l.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Timeout)
		defer cancel()
	}
	opts := append([]llms.CallOption(nil), l.Options...)
	var msgs []llms.MessageContent
	if l.TextReplies {
		msgs = textMessagesOf(p)
		opts = append(opts, llms.WithJSONMode())
	} else {
		msgs = messagesOf(p)
		opts = append(opts, llms.WithTools(toolsOf(p.Tools)))
	}
	resp, err := l.Model.GenerateContent(ctx, msgs, opts...)
	if err != nil {
		return Answer{}, redact(fmt.Errorf("the model: %w", err), l.secret)
	}
	out, err := answerOf(resp)
	if err != nil {
		return Answer{}, err
	}
	if out.Cost, err = l.Prices.Cost(out.InputTokens, out.OutputTokens); err != nil {
		return Answer{}, fmt.Errorf("the model's answer: %w", err)
	}
	return out, nil
}

func toolsOf(specs []ToolSpec) []llms.Tool {
	tools := make([]llms.Tool, 0, len(specs))
	for _, t := range specs {
		var schema any = map[string]any{"type": "object"}
		if len(t.Schema) > 0 {
			schema = json.RawMessage(t.Schema)
		}
		tools = append(tools, llms.Tool{Type: "function", Function: &llms.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: schema}})
	}
	return tools
}

// answerOf reads a response as the next step. Clients differ in how they
// split one answer into choices: OpenAI's is one choice, Anthropic's one
// choice per content block (its words, then its tool call), each carrying
// the usage of the whole message. So the words of every choice are joined,
// the first tool call is the step (one call a reply), and the tokens are
// counted once, from the first choice that reports them.
func answerOf(resp *llms.ContentResponse) (Answer, error) {
	if resp == nil || len(resp.Choices) == 0 {
		return Answer{}, errors.New("the model answered no choice")
	}
	var out Answer
	var texts []string
	var call *llms.FunctionCall
	counted := false
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		if !counted {
			out.InputTokens, out.OutputTokens, counted = tokensOf(c.GenerationInfo)
		}
		if strings.TrimSpace(c.Content) != "" {
			texts = append(texts, c.Content)
		}
		for _, tc := range c.ToolCalls {
			if call == nil && tc.FunctionCall != nil {
				call = tc.FunctionCall
			}
		}
	}
	out.Text = strings.Join(texts, "\n")
	if call == nil {
		return out, nil
	}
	args := json.RawMessage(call.Arguments)
	if !json.Valid(args) {
		// A call whose arguments are not JSON is read like a reply, and
		// its error goes back to the model.
		b, _ := json.Marshal(map[string]any{"tool_name": call.Name, "tool_args": call.Arguments})
		out.Text = string(b)
		return out, nil
	}
	out.Call = &Reply{Tool: call.Name, Args: args, Thoughts: texts}
	return out, nil
}

// tokenKeys are the generation info keys each langchaingo client reports
// a call's tokens under: OpenAI's and Ollama's, Anthropic's, Bedrock's.
var tokenKeys = [][2]string{{"PromptTokens", "CompletionTokens"}, {"InputTokens", "OutputTokens"}, {"input_tokens", "output_tokens"}}

// tokensOf reads a choice's input and output tokens, and whether it
// reports them at all.
func tokensOf(info map[string]any) (in, out int, ok bool) {
	for _, k := range tokenKeys {
		vi, hasIn := info[k[0]]
		vo, hasOut := info[k[1]]
		if hasIn || hasOut {
			return intOf(vi), intOf(vo), true
		}
	}
	return 0, 0, false
}

// redacted is an error whose text had a secret cut out; it still unwraps
// to the cause, for errors.Is.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// redact cuts secret out of err's text.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), secret, "[redacted]"), err: err}
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
			if err != nil || !isObject(r.Args) {
				// Clients send a call's arguments as an object; other
				// arguments stay in the reply's text.
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

// textMessagesOf is the prompt as plain chat messages, for a client that
// cannot declare tools: the replies as the model wrote them, and each tool
// result as a user message naming the tool.
func textMessagesOf(p Prompt) []llms.MessageContent {
	out := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeSystem, p.System)}
	for _, m := range p.History {
		switch m.Role {
		case RoleAssistant:
			out = append(out, llms.TextParts(llms.ChatMessageTypeAI, m.Content))
		case RoleTool:
			out = append(out, llms.TextParts(llms.ChatMessageTypeHuman, "Result of "+m.Tool+":\n"+m.Content))
		default:
			out = append(out, llms.TextParts(llms.ChatMessageTypeHuman, m.Content))
		}
	}
	return out
}

func isObject(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
