package app

import (
	"context"
	"encoding/json"
	"log/slog"
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
// least once; at start it also takes up the events a stopped worker left.
type billingWorker struct {
	client *kgo.Client
	stop   context.CancelFunc
	done   chan struct{}
	log    *slog.Logger
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
	go func() {
		defer close(w.done)
		if evs, err := left.UnprocessedProcessorEvents(ctx, 1000); err != nil {
			log.Error("list processor events to resume", "err", err)
		} else {
			for _, e := range evs {
				if !w.process(ctx, svc, e.ID) {
					return
				}
			}
		}
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
			w.log.Error("processor event not processed; left for the next start", "event", id, "attempts", attempt, "err", err)
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.client.CommitMarkedOffsets(ctx); err != nil {
		w.log.Warn("commit processed billing offsets", "err", err)
	}
	w.client.Close()
}
