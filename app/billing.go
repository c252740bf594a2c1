package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/params"
)

// billingWorker processes the payment processor's webhook events: a
// consumer group on the billing topic handing each stored event to
// ProcessEvent, which applies it once. A record's offset is committed
// only once its event was processed (or given up on), so delivery is at
// least once; a sweep takes up the events left unprocessed.
type billingWorker struct {
	client   *kgo.Client
	stop     context.CancelFunc
	done     chan struct{}
	sweeping sync.WaitGroup
	log      *slog.Logger
}

// processing is what the worker asks of billing and its store.
type processing interface {
	ProcessEvent(ctx context.Context, id string) error
}

type unprocessed interface {
	UnprocessedProcessorEvents(ctx context.Context, limit int) ([]billing.ProcessorEvent, error)
}

const (
	// billingGroup is the consumer group of every instance's worker.
	billingGroup = "gpubroker-billing"
	// billingPartitions bounds the partitions processed at once by one
	// instance; a partition's events (one customer's among them) are
	// processed in order.
	billingPartitions = 4
	// billingAttempts is how often one event is tried before it is left,
	// its error noted, for the next start; billingBackoff is the first
	// wait between tries, doubling after each.
	billingAttempts = 5
	billingBackoff  = time.Second
	// billingSweep is how often the events left unprocessed (a worker
	// stopped, or every try failed) are tried again: those received
	// before the last sweep, once each.
	billingSweep = time.Minute
)

func startBillingWorker(conn []kgo.Opt, svc processing, left unprocessed, ps *params.Service, log *slog.Logger) (*billingWorker, error) {
	topic := events.Topic(ps.Snapshot().String("", "", "events.topic_prefix"), billing.EventProcessorEvent)
	client, err := kgo.NewClient(append(conn, kgo.ConsumerGroup(billingGroup), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation(), kgo.AutoCommitMarks())...)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	w := &billingWorker{client: client, stop: stop, done: make(chan struct{}), log: log}
	w.sweeping.Add(1)
	go func() {
		defer w.sweeping.Done()
		w.sweep(ctx, svc, left)
	}()
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			fs := client.PollFetches(ctx)
			fs.EachError(func(t string, p int32, err error) {
				if ctx.Err() == nil {
					log.Warn("consume billing events", "topic", t, "partition", p, "err", err)
				}
			})
			var g errgroup.Group
			g.SetLimit(billingPartitions)
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				g.Go(func() error {
					for _, r := range p.Records {
						var ce events.CloudEvent
						var ref struct {
							ID string `json:"id"`
						}
						if json.Unmarshal(r.Value, &ce) == nil && ce.Type == billing.EventProcessorEvent &&
							json.Unmarshal(ce.Data, &ref) == nil && ref.ID != "" {
							if !w.process(ctx, svc, ref.ID) {
								return nil // stopping: the rest is the next worker's
							}
						}
						client.MarkCommitRecords(r)
					}
					return nil
				})
			})
			_ = g.Wait()
		}
	}()
	return w, nil
}

// sweep tries again, at start and then every billingSweep, the events
// left unprocessed since before the previous sweep: the stream delivered
// them and gave up, or never will (a worker stopped mid-way). A claim
// makes an event the stream delivers meanwhile apply once all the same.
func (w *billingWorker) sweep(ctx context.Context, svc processing, left unprocessed) {
	cutoff := time.Now()
	t := time.NewTicker(billingSweep)
	defer t.Stop()
	for {
		evs, err := left.UnprocessedProcessorEvents(ctx, 1000)
		if err != nil && ctx.Err() == nil {
			w.log.Error("list processor events left unprocessed", "err", err)
		}
		for _, e := range evs {
			if ctx.Err() != nil {
				return
			}
			if e.ReceivedAt.After(cutoff) {
				continue // the stream has it still
			}
			if err := svc.ProcessEvent(ctx, e.ID); err != nil && ctx.Err() == nil {
				w.log.Warn("processor event left unprocessed again", "event", e.ID, "type", e.Type, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cutoff = now.Add(-billingSweep)
		}
	}
}

// process applies one event, trying again with backoff while it fails.
// It reports false when the worker stopped before the event was processed
// or given up on.
func (w *billingWorker) process(ctx context.Context, svc processing, id string) bool {
	wait := billingBackoff
	for attempt := 1; ; attempt++ {
		err := svc.ProcessEvent(ctx, id)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if fault.KindOf(err) == fault.KindNotFound || attempt == billingAttempts {
			w.log.Error("processor event not processed; left for the sweep", "event", id, "attempts", attempt, "err", err)
			return true
		}
		w.log.Warn("processor event not processed; trying again", "event", id, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// Close stops consuming, waits for the events under way and commits the
// offsets of what was processed.
func (w *billingWorker) Close() {
	w.stop()
	<-w.done
	w.sweeping.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.client.CommitMarkedOffsets(ctx); err != nil {
		w.log.Warn("commit processed billing offsets", "err", err)
	}
	w.client.Close()
}
