package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RedisBus carries messages between instances through Redis: one pub/sub
// channel for all of them, and one counter per hub channel for the ids.
//
// The id is taken and the message published in one script, so Redis
// orders them: every instance receives a channel's messages in id order
// whichever instance published them, and a client resumes on any
// instance with the id it saw on another. Pub/sub keeps nothing: an
// instance disconnected from Redis misses what was published meanwhile,
// and its clients are told to refetch when they resume across the gap.
type RedisBus struct {
	client  *redis.Client
	channel string // the pub/sub channel
	seq     string // prefix of the per-channel counters
	ps      *redis.PubSub
	log     *slog.Logger
}

// seqTTL is how long a channel's counter outlives its last message: a
// client resuming later than that is told to refetch.
const seqTTL = 7 * 24 * 3600

// publishScript takes the channel's next id and publishes "<id> <message>".
var publishScript = redis.NewScript(`
local id = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id
`)

// NewRedisBus subscribes to prefix+"realtime" and waits until Redis has
// confirmed it, so that nothing published after it returns is missed.
// The hub given it as its Bus runs it; Close releases the subscription.
func NewRedisBus(ctx context.Context, client *redis.Client, prefix string, log *slog.Logger) (*RedisBus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &RedisBus{client: client, channel: prefix + "realtime", seq: prefix + "realtime:seq:", log: log}
	b.ps = client.Subscribe(ctx, b.channel)
	if _, err := b.ps.Receive(ctx); err != nil {
		_ = b.ps.Close()
		return nil, fmt.Errorf("subscribe to Redis channel %s: %w", b.channel, err)
	}
	return b, nil
}

// Publish numbers m and publishes it to every instance.
func (b *RedisBus) Publish(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if err := publishScript.Run(ctx, b.client, []string{b.seq + m.Channel}, b.channel, body, seqTTL).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Last is the latest id of a channel (0 when it has none).
func (b *RedisBus) Last(ctx context.Context, channel string) (uint64, error) {
	n, err := b.client.Get(ctx, b.seq+channel).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis last id of %s: %w", channel, err)
	}
	return n, nil
}

// Run delivers every message published until ctx ends; go-redis
// reconnects the subscription by itself.
func (b *RedisBus) Run(ctx context.Context, deliver func(Message)) error {
	ch := b.ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case rm, ok := <-ch:
			if !ok {
				return errors.New("redis subscription closed")
			}
			m, err := decodeBus(rm.Payload)
			if err != nil {
				b.log.Warn("realtime message dropped", "err", err)
				continue
			}
			deliver(m)
		}
	}
}

// Close ends the subscription.
func (b *RedisBus) Close() error {
	if err := b.ps.Close(); err != nil {
		return fmt.Errorf("close the Redis subscription: %w", err)
	}
	return nil
}

func decodeBus(payload string) (Message, error) {
	p := []byte(payload)
	i := bytes.IndexByte(p, ' ')
	if i <= 0 {
		return Message{}, errors.New("bus message without an id")
	}
	id, err := strconv.ParseUint(string(p[:i]), 10, 64)
	if err != nil {
		return Message{}, fmt.Errorf("bus message id: %w", err)
	}
	var m Message
	if err := json.Unmarshal(p[i+1:], &m); err != nil {
		return Message{}, fmt.Errorf("decode bus message: %w", err)
	}
	m.ID = id
	return m, nil
}
