package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// CloudEvent is the JSON form every event takes on the stream: a
// CloudEvents 1.0 structured-mode envelope, with the tenant as an
// extension attribute.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            Type            `json:"type"`
	Time            time.Time       `json:"time"`
	Subject         string          `json:"subject"`
	DataContentType string          `json:"datacontenttype"`
	Tenant          string          `json:"tenant,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// Envelope wraps e for the stream; source names the platform instance's
// origin (a URI reference, "/gpubroker").
func Envelope(e Event, source string) CloudEvent {
	return CloudEvent{SpecVersion: "1.0", ID: e.ID, Source: source, Type: e.Type, Time: e.CreatedAt.UTC(), Subject: e.Key,
		DataContentType: "application/json", Tenant: e.TenantID, Data: e.Payload}
}

// Topic is the topic of a type's domain under prefix: pod.* events go to
// prefix+"pod".
func Topic(prefix string, t Type) string {
	domain, _, _ := strings.Cut(string(t), ".")
	return prefix + domain
}

// Outbox is where the relay reads committed events and records their
// delivery; the store implements it.
type Outbox interface {
	PendingEvents(ctx context.Context, limit int) ([]Event, error)
	MarkPublished(ctx context.Context, ids []string, at time.Time) error
}

// RelayOptions tune a Relay.
type RelayOptions struct {
	// Source is the CloudEvents source of every event ("/gpubroker").
	Source string
	// Topic names the topic of an event (by default Topic("gpubroker.", t)).
	Topic func(Type) string
	// Batch is how many events one pass reads at most (default 500).
	Batch int
	// Poll is how long the relay sleeps when the outbox is empty and no
	// Nudge came (default 200 ms).
	Poll time.Duration
	Now  func() time.Time
	Log  *slog.Logger
	// Keep says how long published events stay in the outbox (for an
	// operator to look back); when the outbox can prune, Run deletes
	// older ones every PruneEvery (default 10 minutes). Nil or zero
	// keeps them.
	Keep       func() time.Duration
	PruneEvery time.Duration
}

// Pruner is an outbox that can delete events published before a time.
type Pruner interface {
	PruneOutbox(ctx context.Context, before time.Time) (int64, error)
}

// Relay publishes the outbox to Kafka: in commit order, keyed by the
// aggregate (so one pod's events stay in order), through franz-go's
// idempotent producer, and marks each event published once the broker has
// acknowledged it. Delivery is at least once: a crash between the
// acknowledgement and the mark publishes an event again, and consumers
// deduplicate by its id. While the broker is down the producer keeps
// retrying and the outbox keeps every event; nothing is lost.
type Relay struct {
	outbox Outbox
	client *kgo.Client
	opt    RelayOptions
	nudge  chan struct{}
}

// NewRelay relays outbox to the cluster client is connected to.
func NewRelay(outbox Outbox, client *kgo.Client, opt RelayOptions) *Relay {
	if opt.Topic == nil {
		opt.Topic = func(t Type) string { return Topic("gpubroker.", t) }
	}
	if opt.Source == "" {
		opt.Source = "/gpubroker"
	}
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	if opt.Poll <= 0 {
		opt.Poll = 200 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.PruneEvery <= 0 {
		opt.PruneEvery = 10 * time.Minute
	}
	return &Relay{outbox: outbox, client: client, opt: opt, nudge: make(chan struct{}, 1)}
}

// Nudge tells the relay that events were committed, so it reads the
// outbox now rather than at its next poll.
func (r *Relay) Nudge() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	pruned := r.opt.Now()
	for {
		if now := r.opt.Now(); now.Sub(pruned) >= r.opt.PruneEvery {
			pruned = now
			r.prune(ctx, now)
		}
		n, err := r.Pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.opt.Log.Error("relay events", "err", err)
		}
		if n == r.opt.Batch {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.nudge:
		case <-time.After(r.opt.Poll):
		}
	}
}

// prune deletes events published longer ago than Keep.
func (r *Relay) prune(ctx context.Context, now time.Time) {
	p, ok := r.outbox.(Pruner)
	if !ok || r.opt.Keep == nil || r.opt.Keep() <= 0 {
		return
	}
	if n, err := p.PruneOutbox(ctx, now.Add(-r.opt.Keep())); err != nil && ctx.Err() == nil {
		r.opt.Log.Error("prune the outbox", "err", err)
	} else if n > 0 {
		r.opt.Log.Debug("pruned the outbox", "events", n)
	}
}

// Pass publishes one batch of pending events and waits until the broker
// acknowledged them (or ctx ends), marking what was acknowledged. It
// answers how many events it read.
func (r *Relay) Pass(ctx context.Context) (int, error) {
	es, err := r.outbox.PendingEvents(ctx, r.opt.Batch)
	if err != nil || len(es) == 0 {
		return 0, err
	}
	var (
		mu    sync.Mutex
		acked []string
		first error
		wg    sync.WaitGroup
	)
	for _, e := range es {
		value, err := json.Marshal(Envelope(e, r.opt.Source))
		if err != nil {
			return len(es), fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		rec := &kgo.Record{Topic: r.opt.Topic(e.Type), Key: []byte(e.Key), Value: value,
			Headers: []kgo.RecordHeader{{Key: "ce_id", Value: []byte(e.ID)}, {Key: "ce_type", Value: []byte(e.Type)}}}
		wg.Add(1)
		r.client.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("publish event %s: %w", e.ID, err)
				}
				return
			}
			acked = append(acked, e.ID)
		})
	}
	wg.Wait()
	if len(acked) > 0 {
		// The mark must land even when the relay is being stopped: the
		// broker already has these events.
		if err := r.outbox.MarkPublished(context.WithoutCancel(ctx), acked, r.opt.Now()); err != nil {
			return len(es), err
		}
	}
	return len(es), first
}
