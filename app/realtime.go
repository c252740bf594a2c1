package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/realtime"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/web"
)

// realtimeFace is the WebSocket hub and what feeds it: a consumer group
// on the pod, agent and market topics turning events into the hub's
// messages. With GPUBROKER_REDIS_URL the consuming instance publishes
// each through Redis and every instance's hub delivers it; without, the
// hub delivers in this process.
type realtimeFace struct {
	Hub       *realtime.Hub
	bus       *realtime.RedisBus
	redis     *redis.Client
	consumers []*consumer
	log       *slog.Logger
}

const (
	// realtimeGroup is the consumer group of every instance's feeder:
	// each event is published once, and Redis carries it to the others.
	realtimeGroup = "gpubroker-realtime"
	// realtimePartitions bounds the partitions one instance feeds at once.
	realtimePartitions = 4
)

// startRealtime builds the hub (on Redis when configured) and starts
// feeding it from the event stream.
func startRealtime(a *App) (*realtimeFace, error) {
	f := &realtimeFace{log: a.log}
	opt := realtime.Options{Bearer: a.Identity, Session: browserSessions{a.Web}, Access: realtimeAccess{pods: a.Pods, tenants: a.Tenants},
		Origins: originOf(a.Params.Snapshot().BaseURL()), Log: a.log.With("face", "realtime")}
	if a.cfg.RedisURL != "" {
		// A client of its own: the rate counter's short read timeouts do
		// not suit a subscription that waits.
		ro, err := redis.ParseURL(a.cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("GPUBROKER_REDIS_URL: %w", err)
		}
		f.redis = redis.NewClient(ro)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if f.bus, err = realtime.NewRedisBus(ctx, f.redis, a.cfg.RedisPrefix, a.log); err != nil {
			_ = f.redis.Close()
			return nil, fmt.Errorf("realtime fan-out through Redis: %w", err)
		}
		opt.Bus = f.bus
	}
	f.Hub = realtime.NewHub(opt)
	prefix := a.Params.Snapshot().String("", "", "events.topic_prefix")
	tr := realtime.NewTranslator()
	for _, t := range []events.Type{pods.EventMoved, decision.EventDecisionProposed, market.EventPricesUpdated} {
		c, err := startRealtimeFeed(a.stream.opts, f.Hub, tr, events.Topic(prefix, t), a.log)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("feed the realtime hub from %s: %w", events.Topic(prefix, t), err)
		}
		f.consumers = append(f.consumers, c)
	}
	return f, nil
}

// startRealtimeFeed publishes into hub what each event of topic becomes.
// A message Redis does not take is tried again briefly, then dropped
// (logged): clients resuming across it are told to refetch, and holding
// the partition would delay every later event.
func startRealtimeFeed(conn []kgo.Opt, hub *realtime.Hub, tr *realtime.Translator, topic string, log *slog.Logger) (*consumer, error) {
	c, _, err := consume(conn, realtimeGroup, topic, realtimePartitions, "realtime events", log,
		func(ctx context.Context, r *kgo.Record) bool {
			msgs, err := tr.Messages(r.Value)
			if err != nil {
				log.Warn("event not made into a realtime message; dropped", "topic", r.Topic, "err", err)
				return true
			}
			for _, m := range msgs {
				ok := persistently(ctx, log, 3, 100*time.Millisecond, "realtime message not published", "dropped",
					func(error) bool { return false }, func() error { return hub.Publish(ctx, m) },
					"channel", m.Channel, "event", m.Event)
				if !ok {
					return false
				}
			}
			return true
		})
	return c, err
}

// Close stops feeding, disconnects every client and leaves Redis.
func (f *realtimeFace) Close() {
	for _, c := range f.consumers {
		c.Close()
	}
	if f.Hub != nil {
		f.Hub.Close()
	}
	if f.bus != nil {
		if err := f.bus.Close(); err != nil {
			f.log.Warn("close the realtime bus", "err", err)
		}
	}
	if f.redis != nil {
		if err := f.redis.Close(); err != nil {
			f.log.Warn("close the realtime Redis client", "err", err)
		}
	}
}

// originOf is the origin ("https://host:port") of the platform's base
// URL, the one a browser session may open the socket from.
func originOf(base string) []string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil
	}
	return []string{u.Scheme + "://" + u.Host}
}

// realtimeAccess answers the hub's questions from the pods and tenants.
type realtimeAccess struct {
	pods    *pods.Service
	tenants *tenant.Service
}

func (r realtimeAccess) PodOwner(ctx context.Context, tenantID, podID string) (string, error) {
	p, err := r.pods.Get(ctx, tenantID, podID)
	if err != nil {
		return "", fmt.Errorf("pod %s: %w", podID, err)
	}
	return p.OwnerID, nil
}

// PriceFeed is the tenant's own LIVE feed in LIVE, the shared SANDBOX
// one otherwise (as Market.For chooses the aggregator).
func (r realtimeAccess) PriceFeed(ctx context.Context, tenantID string) (string, error) {
	t, err := r.tenants.Lookup(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("tenant %s: %w", tenantID, err)
	}
	if t.Mode == mode.Live {
		return market.Feed(tenantID), nil
	}
	return market.Feed(""), nil
}

// priceRecorder records an aggregator's price points and, in the same
// transaction, one market.prices_updated event with the offers whose
// price or availability changed since it last recorded them (the
// aggregator also re-records unchanged offers now and then, for the
// history charts; those are not news).
type priceRecorder struct {
	st       *store.Store
	feed     string
	tenantID string
	nudge    func()

	mu   sync.Mutex
	last map[string]pricePointState
}

type pricePointState struct {
	price, spot float64
	avail       providers.Availability
}

// newPriceRecorder records for the feed of tenantID ("" for SANDBOX's
// shared one); nudge tells the relay an event was committed.
func newPriceRecorder(st *store.Store, tenantID string, nudge func()) *priceRecorder {
	return &priceRecorder{st: st, feed: market.Feed(tenantID), tenantID: tenantID, nudge: nudge,
		last: map[string]pricePointState{}}
}

// RecordPrices implements market.Recorder.
func (p *priceRecorder) RecordPrices(ctx context.Context, m string, points []market.PricePoint) error {
	p.mu.Lock()
	var changed []market.PricePoint
	for _, pt := range points {
		if last, ok := p.last[pt.OfferID]; !ok || last != (pricePointState{pt.PriceHour, pt.SpotPriceHour, pt.Availability}) {
			changed = append(changed, pt)
		}
	}
	p.mu.Unlock()
	err := p.st.InTx(ctx, func(ctx context.Context) error {
		if err := p.st.RecordPrices(ctx, m, points); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		e, err := events.New(market.EventPricesUpdated, p.feed, p.tenantID,
			market.PricesUpdated{Feed: p.feed, Offers: changed}, time.Now())
		if err != nil {
			return err
		}
		return p.st.Enqueue(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("record prices of %s: %w", p.feed, err)
	}
	if len(changed) == 0 {
		return nil
	}
	p.mu.Lock()
	for _, pt := range changed {
		p.last[pt.OfferID] = pricePointState{pt.PriceHour, pt.SpotPriceHour, pt.Availability}
	}
	p.mu.Unlock()
	if p.nudge != nil {
		p.nudge()
	}
	return nil
}

// browserSessions signs a WebSocket in with the web face's session
// cookie.
type browserSessions struct{ pages *web.Pages }

// Authenticate implements realtime.SessionAuthenticator.
func (b browserSessions) Authenticate(r *http.Request) (actor.Actor, error) {
	a, ok, err := b.pages.SessionActor(r)
	if err != nil {
		return actor.Actor{}, err
	}
	if !ok {
		return actor.Actor{}, realtime.ErrNoSession
	}
	return a, nil
}
