package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kaptinlin/jsonrepair"
)

// Reply is one step the model chose: a tool call with the reasons for it,
// Agent Zero's reply format.
type Reply struct {
	Thoughts []string        `json:"thoughts,omitempty"`
	Headline string          `json:"headline,omitempty"`
	Tool     string          `json:"tool_name"`
	Args     json.RawMessage `json:"tool_args,omitempty"`
}

// ErrNoReply is a model answer holding no JSON object at all.
var ErrNoReply = errors.New("the reply holds no JSON object")

// ParseReply reads the model's reply tolerantly: the first JSON object in
// text, wherever it stands (in a code fence, after words, before more),
// repaired when it is not quite JSON (single quotes, trailing commas, an
// unclosed brace) by jsonrepair, the port of the well-known repairer of
// model output. A reply without a tool name is an error the model is told.
func ParseReply(text string) (Reply, error) {
	raw, err := firstObject(text)
	if err != nil {
		return Reply{}, err
	}
	var r struct {
		Thoughts json.RawMessage `json:"thoughts"`
		Headline string          `json:"headline"`
		Tool     string          `json:"tool_name"`
		Args     json.RawMessage `json:"tool_args"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return Reply{}, fmt.Errorf("the reply is not the reply object: %w", err)
	}
	out := Reply{Headline: r.Headline, Tool: strings.TrimSpace(r.Tool), Args: r.Args}
	// Thoughts are a list of strings, but a model may give one string.
	if len(r.Thoughts) > 0 && json.Unmarshal(r.Thoughts, &out.Thoughts) != nil {
		var one string
		if json.Unmarshal(r.Thoughts, &one) == nil {
			out.Thoughts = []string{one}
		}
	}
	if out.Tool == "" {
		return out, errors.New(`the reply names no tool: answer one JSON object with "tool_name" and "tool_args"`)
	}
	if len(out.Args) == 0 || bytes.Equal(out.Args, []byte("null")) {
		out.Args = json.RawMessage("{}")
	}
	return out, nil
}

// firstObject finds the first JSON object in text: as it is when it is
// valid (whatever follows it), else the shortest repairable stretch from
// its opening brace to a closing one, else all that follows the brace,
// repaired.
func firstObject(text string) (json.RawMessage, error) {
	start := strings.IndexByte(text, '{')
	if start < 0 {
		return nil, ErrNoReply
	}
	rest := text[start:]
	var raw json.RawMessage
	if err := json.NewDecoder(strings.NewReader(rest)).Decode(&raw); err == nil {
		return raw, nil
	}
	for end := strings.IndexByte(rest, '}'); end >= 0; {
		if fixed, err := jsonrepair.Repair(rest[:end+1]); err == nil && json.Valid([]byte(fixed)) && strings.HasPrefix(fixed, "{") {
			return json.RawMessage(fixed), nil
		}
		next := strings.IndexByte(rest[end+1:], '}')
		if next < 0 {
			break
		}
		end += next + 1
	}
	fixed, err := jsonrepair.Repair(rest)
	if err != nil || !json.Valid([]byte(fixed)) {
		return nil, fmt.Errorf("the reply's JSON cannot be read: %v", err)
	}
	return json.RawMessage(fixed), nil
}
