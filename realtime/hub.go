package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gpubroker/pod/actor"
)

// Message is one event on a channel, as the hub keeps and fans it out.
type Message struct {
	// Channel is the hub's key of the channel: "prices:{feed}",
	// "pod:{id}", "notifications:{tenant}" or "agent:{tenant}".
	Channel string `json:"c"`
	// ID grows per channel; it is assigned where the message enters
	// fan-out (Publish), the same on every instance.
	ID    uint64          `json:"-"`
	Event string          `json:"e"`
	Data  json.RawMessage `json:"d,omitempty"`
	// To narrows who of the channel's subscribers receive it (empty:
	// all of them).
	To Audience `json:"t,omitzero"`
}

// Audience narrows a message to one user, or to the actors holding a
// role, or to either.
type Audience struct {
	User string     `json:"u,omitempty"`
	Role actor.Role `json:"r,omitempty"`
}

func (au Audience) admits(a actor.Actor) bool {
	if au.User == "" && au.Role == "" {
		return true
	}
	return (au.User != "" && a.ID == au.User) || (au.Role != "" && a.Role.AtLeast(au.Role))
}

// Channel keys the hub serves, by what a client asks for.
const (
	chanPrices        = "prices"
	chanNotifications = "notifications"
	chanAgent         = "agent"
	chanPodPrefix     = "pod:"
)

// PricesKey is the hub's key of a price feed ("sandbox", or a LIVE
// tenant's own).
func PricesKey(feed string) string { return chanPrices + ":" + feed }

// PodKey is the hub's key of a pod's channel.
func PodKey(podID string) string { return chanPodPrefix + podID }

// NotificationsKey is the hub's key of a tenant's notifications.
func NotificationsKey(tenantID string) string { return chanNotifications + ":" + tenantID }

// AgentKey is the hub's key of a tenant's agent channel.
func AgentKey(tenantID string) string { return chanAgent + ":" + tenantID }

// public is the name a client knows a channel by.
func public(key string) string {
	if strings.HasPrefix(key, chanPodPrefix) {
		return key
	}
	name, _, _ := strings.Cut(key, ":")
	return name
}

// Bus carries published messages to the hub of every instance: Publish
// assigns the id and hands the message to every hub's deliver (through
// Run), Last reads a channel's latest id.
type Bus interface {
	Publish(ctx context.Context, m Message) error
	Last(ctx context.Context, channel string) (uint64, error)
	// Run delivers what any instance published until ctx ends.
	Run(ctx context.Context, deliver func(Message)) error
}

// Access answers what the hub must know to authorize a subscription.
type Access interface {
	// PodOwner is the owner of a pod of the tenant; an error (not found)
	// when the tenant has no such pod.
	PodOwner(ctx context.Context, tenantID, podID string) (string, error)
	// PriceFeed names the price feed the tenant's offers come from.
	PriceFeed(ctx context.Context, tenantID string) (string, error)
}

// Options tune a Hub. Zero values take the defaults.
type Options struct {
	// Bus fans out across instances; nil delivers in this process.
	Bus    Bus
	Access Access
	// Bearer authenticates an Authorization: Bearer credential;
	// Session authenticates a browser's session (its cookie) and is
	// checked against Origins.
	Bearer  BearerAuthenticator
	Session SessionAuthenticator
	// Origins are the origins ("https://app.example.com") a session may
	// connect from, beside the request's own host.
	Origins []string
	// Replay is how many events a channel keeps for resume (1024).
	Replay int
	// Queue is how many frames a connection may have waiting (64);
	// one more drops it.
	Queue int
	// ReadLimit bounds a client's frame (16 KiB).
	ReadLimit int64
	// Ping is how often a connection is pinged (30 s); WriteTimeout bounds
	// one write or ping (10 s).
	Ping         time.Duration
	WriteTimeout time.Duration
	// MaxSubscriptions bounds one connection's channels (64).
	MaxSubscriptions int
	// MaxChannels bounds the channels kept; past it, those nobody
	// follows are forgotten (100,000).
	MaxChannels int
	Log         *slog.Logger
}

// Hub fans messages out to the connections following their channels.
type Hub struct {
	opt    Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // connections and the bus

	mu       sync.Mutex
	channels map[string]*channel
	conns    map[*conn]struct{}
	closed   bool
}

// channel is one channel's ring of recent messages and its followers.
type channel struct {
	mu   sync.Mutex
	ring []entry // circular once full
	head int     // index of the oldest entry when full
	last uint64
	subs map[*conn]struct{}
}

type entry struct {
	msg   Message
	frame []byte
}

// NewHub starts a hub; with a Bus it follows the bus until Close.
func NewHub(opt Options) *Hub {
	if opt.Replay <= 0 {
		opt.Replay = 1024
	}
	if opt.Queue <= 0 {
		opt.Queue = 64
	}
	if opt.ReadLimit <= 0 {
		opt.ReadLimit = 16 << 10
	}
	if opt.Ping <= 0 {
		opt.Ping = 30 * time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 10 * time.Second
	}
	if opt.MaxSubscriptions <= 0 {
		opt.MaxSubscriptions = 64
	}
	if opt.MaxChannels <= 0 {
		opt.MaxChannels = 100_000
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{opt: opt, ctx: ctx, cancel: cancel, channels: map[string]*channel{}, conns: map[*conn]struct{}{}}
	if opt.Bus != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := opt.Bus.Run(ctx, h.deliver); err != nil && ctx.Err() == nil {
				opt.Log.Error("realtime bus stopped", "err", err)
			}
		}()
	}
	return h
}

// Close disconnects every client (1001), stops following the bus and
// waits for all of it.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	// Kicked one by one rather than each writer also waiting on the
	// hub's context: a fan-out wakes every writer, and a channel they
	// all wait on is one lock they all take.
	for c := range h.conns {
		c.kick(refuse(websocket.StatusGoingAway, "shutting down"))
	}
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// Publish enters m into fan-out: through the bus when there is one (every
// instance delivers it), in this process otherwise. It does not wait for
// any client.
func (h *Hub) Publish(ctx context.Context, m Message) error {
	if m.Channel == "" || m.Event == "" {
		return fmt.Errorf("publish: a channel and an event are required")
	}
	if len(m.Data) > 0 && !json.Valid(m.Data) {
		return fmt.Errorf("publish %s on %s: the data is not JSON", m.Event, m.Channel)
	}
	if h.opt.Bus != nil {
		if err := h.opt.Bus.Publish(ctx, m); err != nil {
			return fmt.Errorf("publish %s on %s: %w", m.Event, m.Channel, err)
		}
		return nil
	}
	ch := h.channel(m.Channel)
	ch.mu.Lock()
	m.ID = ch.last + 1
	h.deliverLocked(ch, m)
	ch.mu.Unlock()
	return nil
}

// deliver hands a message with its id to the local followers.
func (h *Hub) deliver(m Message) {
	ch := h.channel(m.Channel)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if m.ID <= ch.last {
		if ch.last-m.ID < uint64(h.opt.Replay) {
			return // seen (the bus may repeat one)
		}
		// The ids started again (the bus lost its counter): what the
		// ring holds can no longer be resumed from.
		ch.ring, ch.head = nil, 0
	}
	h.deliverLocked(ch, m)
}

// deliverLocked keeps m in the ring and queues it to every follower it is
// for; a follower whose queue is full is dropped, never waited for.
func (h *Hub) deliverLocked(ch *channel, m Message) {
	frame := eventFrame(m)
	ch.last = m.ID
	if len(ch.ring) < h.opt.Replay {
		ch.ring = append(ch.ring, entry{m, frame})
	} else {
		ch.ring[ch.head] = entry{m, frame}
		ch.head = (ch.head + 1) % len(ch.ring)
	}
	for c := range ch.subs {
		if m.To.admits(c.actor) {
			c.send(frame)
		}
	}
}

// channel returns the channel under key, made on first use. Past
// MaxChannels, the channels nobody follows are forgotten first.
func (h *Hub) channel(key string) *channel {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.channels[key]; ok {
		return ch
	}
	if len(h.channels) >= h.opt.MaxChannels {
		for k, ch := range h.channels {
			ch.mu.Lock()
			idle := len(ch.subs) == 0
			ch.mu.Unlock()
			if idle {
				delete(h.channels, k)
			}
		}
	}
	ch := &channel{subs: map[*conn]struct{}{}}
	h.channels[key] = ch
	return ch
}

// resume says what a subscriber who saw up to after gets: the ring's
// later messages, or nothing missed, or a refetch.
type resume int

const (
	resumeLive resume = iota
	resumeReplayed
	resumeUnknown // the ring holds nothing here: ask the bus
	resumeRefetch
)

// subscribe adds c to the channel under key and, under the channel's
// lock so no message slips between, queues the ring's messages after
// after (when after > 0).
func (h *Hub) subscribe(c *conn, key string, after uint64) (resume, uint64) {
	ch := h.channel(key)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.subs[c] = struct{}{}
	if after == 0 {
		return resumeLive, ch.last
	}
	if len(ch.ring) == 0 {
		if h.opt.Bus != nil {
			return resumeUnknown, ch.last
		}
		return resumeRefetch, ch.last
	}
	if after == ch.last {
		return resumeLive, ch.last
	}
	if after > ch.last {
		if h.opt.Bus != nil {
			return resumeUnknown, ch.last // this instance may lag the bus
		}
		return resumeRefetch, ch.last // ids started again
	}
	oldest := ch.ring[ch.head].msg.ID
	if oldest > after+1 {
		return resumeRefetch, ch.last
	}
	n := len(ch.ring)
	var missed []entry
	for i := range n {
		e := ch.ring[(ch.head+i)%n]
		if e.msg.ID > after && e.msg.To.admits(c.actor) {
			missed = append(missed, e)
		}
	}
	if len(missed) > cap(c.out)-len(c.out)-1 {
		return resumeRefetch, ch.last // more than the queue holds
	}
	for _, e := range missed {
		c.send(e.frame)
	}
	return resumeReplayed, ch.last
}

func (h *Hub) unsubscribe(c *conn, key string) {
	h.mu.Lock()
	ch, ok := h.channels[key]
	h.mu.Unlock()
	if !ok {
		return
	}
	ch.mu.Lock()
	delete(ch.subs, c)
	ch.mu.Unlock()
}

// Stats counts the connections and channels of this instance.
type Stats struct {
	Connections int
	Channels    int
}

// Stats reports what the hub holds now.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Connections: len(h.conns), Channels: len(h.channels)}
}

// frame is what the server writes to a client.
type frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel,omitempty"`
	ID      uint64          `json:"id,omitempty"`
	Event   string          `json:"event,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	Last    *uint64         `json:"last,omitempty"`
	Reason  string          `json:"reason,omitempty"`
}

// Frame types.
const (
	typeEvent        = "event"
	typeSubscribed   = "subscribed"
	typeUnsubscribed = "unsubscribed"
	typeRefetch      = "refetch"
	typePong         = "pong"
)

func eventFrame(m Message) []byte {
	return mustJSON(frame{Type: typeEvent, Channel: public(m.Channel), ID: m.ID, Event: m.Event, Data: m.Data})
}

func mustJSON(f frame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Data is json.RawMessage checked at the edge; the rest are
		// strings and numbers.
		b, _ = json.Marshal(frame{Type: f.Type, Channel: f.Channel, ID: f.ID, Event: f.Event})
	}
	return b
}
