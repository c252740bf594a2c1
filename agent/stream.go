package agent

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// StreamEvent is one thing the agent did, as the console shows it live:
// a task began (start), a step ended (step: thoughts, the call, its
// result or the observation), a task ended (end), or a decision that
// waited was decided (decided).
type StreamEvent struct {
	// ID numbers a tenant's events from 1 on this instance.
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Task        string          `json:"task,omitempty"`
	Agent       int             `json:"agent"`
	Iteration   int             `json:"iteration,omitempty"`
	Message     string          `json:"message,omitempty"`
	Thoughts    []string        `json:"thoughts,omitempty"`
	Headline    string          `json:"headline,omitempty"`
	Tool        string          `json:"tool,omitempty"`
	Args        json.RawMessage `json:"args,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Observation string          `json:"observation,omitempty"`
	Outcome     *Outcome        `json:"outcome,omitempty"`
	Decision    string          `json:"decision,omitempty"`
	Status      string          `json:"status,omitempty"`
	At          time.Time       `json:"at"`
}

// Hub fans a tenant's stream out to its subscribers. It never blocks the
// loop: a subscriber whose buffer is full is dropped (its channel closed),
// and reconnects. It keeps each tenant's last events, so a console that
// opens (or comes back) after a step was taken still shows it.
type Hub struct {
	size   int
	mu     sync.Mutex
	subs   map[string]map[chan StreamEvent]struct{}
	seq    map[string]int64
	recent map[string][]StreamEvent
}

// HubKeeps is how many of a tenant's latest events the hub keeps for a
// subscriber to catch up on.
const HubKeeps = 64

// NewHub returns a hub giving each subscriber a buffer of size events.
func NewHub(size int) *Hub {
	return &Hub{size: size, subs: map[string]map[chan StreamEvent]struct{}{}, seq: map[string]int64{},
		recent: map[string][]StreamEvent{}}
}

// Subscribe follows a tenant's stream until cancel is called (or the
// subscriber falls behind, which closes the channel), starting with the
// kept events numbered after after (all of them for 0).
func (h *Hub) Subscribe(tenantID string, after int64) (<-chan StreamEvent, func()) {
	h.mu.Lock()
	var missed []StreamEvent
	for _, e := range h.recent[tenantID] {
		if e.ID > after {
			missed = append(missed, e)
		}
	}
	ch := make(chan StreamEvent, h.size+len(missed))
	for _, e := range missed {
		ch <- e
	}
	if h.subs[tenantID] == nil {
		h.subs[tenantID] = map[chan StreamEvent]struct{}{}
	}
	h.subs[tenantID][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() { h.drop(tenantID, ch) }
}

func (h *Hub) drop(tenantID string, ch chan StreamEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[tenantID][ch]; ok {
		delete(h.subs[tenantID], ch)
		close(ch)
	}
}

// Publish sends e to the tenant's subscribers, numbering it.
func (h *Hub) Publish(tenantID string, e StreamEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq[tenantID]++
	e.ID = h.seq[tenantID]
	kept := append(h.recent[tenantID], e)
	if len(kept) > HubKeeps {
		kept = append(kept[:0:0], kept[len(kept)-HubKeeps:]...)
	}
	h.recent[tenantID] = kept
	for ch := range h.subs[tenantID] {
		select {
		case ch <- e:
		default:
			delete(h.subs[tenantID], ch)
			close(ch)
		}
	}
}

// streaming is the extension that puts a conversation's steps on the hub.
type streaming struct {
	NoExtension
	hub    *Hub
	tenant string
	now    func() time.Time
}

func (s streaming) MonologueStart(ctx context.Context, a *Agent, message string) {
	s.hub.Publish(s.tenant, StreamEvent{Kind: "start", Task: TaskOf(ctx), Agent: a.Number, Message: message, At: s.now().UTC()})
}

func (s streaming) AfterTool(ctx context.Context, a *Agent, st Step) {
	s.hub.Publish(s.tenant, StreamEvent{Kind: "step", Task: TaskOf(ctx), Agent: a.Number, Iteration: st.Iteration, Thoughts: st.Reply.Thoughts,
		Headline: st.Reply.Headline, Tool: st.Reply.Tool, Args: st.Reply.Args, Result: st.Result, Observation: st.Observation, At: s.now().UTC()})
}

func (s streaming) MonologueEnd(ctx context.Context, a *Agent, o Outcome) {
	s.hub.Publish(s.tenant, StreamEvent{Kind: "end", Task: TaskOf(ctx), Agent: a.Number, Outcome: &o, At: s.now().UTC()})
}
