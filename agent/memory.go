package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/memory"
)

// Names of the memory tools.
const (
	ToolMemorySave   = "memory_save"
	ToolMemoryLoad   = "memory_load"
	ToolMemoryForget = "memory_forget"
)

var memoryTools = []ToolSpec{
	{Name: ToolMemorySave, Description: "Remember a fact for later conversations of this tenant (a preference, a lesson, a decision's reason).",
		Schema: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","maxLength":2000}},"required":["text"]}`)},
	{Name: ToolMemoryLoad, Description: "Recall what you remembered that holds these words; the best matches first.",
		Schema: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","minimum":1,"maximum":20}},"required":["query"]}`)},
	{Name: ToolMemoryForget, Description: "Forget one remembered fact by its id.",
		Schema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`)},
}

// remember runs a memory tool for agent a.
func (a *Agent) remember(ctx context.Context, tool string, args json.RawMessage) (json.RawMessage, error) {
	cfg := a.ctx.cfg
	switch tool {
	case ToolMemorySave:
		var in struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(args, &in); err != nil || strings.TrimSpace(in.Text) == "" || len(in.Text) > 2000 {
			return nil, errors.New("memory_save needs text of 1 to 2000 characters")
		}
		m := memory.Memo{ID: "mem_" + strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", ""), TenantID: cfg.Tenant, Text: strings.TrimSpace(in.Text), CreatedBy: cfg.Actor, CreatedAt: cfg.Now().UTC()}
		if err := cfg.Memory.SaveMemory(ctx, m); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"saved": m.ID})
	case ToolMemoryLoad:
		var in struct {
			Query string `json:"query"`
			Limit int    `json:"limit"`
		}
		if err := json.Unmarshal(args, &in); err != nil || len(memory.Words(in.Query)) == 0 {
			return nil, errors.New("memory_load needs a query with words")
		}
		if in.Limit <= 0 || in.Limit > 20 {
			in.Limit = 5
		}
		found, err := cfg.Memory.FindMemories(ctx, cfg.Tenant, memory.Words(in.Query), in.Limit)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"memories": append([]memory.Memo{}, found...)})
	default: // ToolMemoryForget
		var in struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(args, &in); err != nil || in.ID == "" {
			return nil, errors.New("memory_forget needs the id of a memory")
		}
		ok, err := cfg.Memory.ForgetMemory(ctx, cfg.Tenant, in.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("there is no memory %s", in.ID)
		}
		return json.Marshal(map[string]string{"forgot": in.ID})
	}
}
