package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
	*consumer
	sweeping sync.WaitGroup
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
	c, ctx, err := consume(conn, billingGroup, topic, billingPartitions, "billing events", log, func(ctx context.Context, r *kgo.Record) bool {
		var ce events.CloudEvent
		var ref struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(r.Value, &ce) != nil || ce.Type != billing.EventProcessorEvent || json.Unmarshal(ce.Data, &ref) != nil || ref.ID == "" {
			return true // not a processor event: nothing to do
		}
		return process(ctx, svc, ref.ID, log)
	})
	if err != nil {
		return nil, err
	}
	w := &billingWorker{consumer: c}
	w.sweeping.Add(1)
	go func() {
		defer w.sweeping.Done()
		w.sweep(ctx, svc, left)
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
func process(ctx context.Context, svc processing, id string, log *slog.Logger) bool {
	return persistently(ctx, log, billingAttempts, billingBackoff, "processor event not processed", "left for the sweep",
		func(err error) bool { return fault.KindOf(err) == fault.KindNotFound },
		func() error { return svc.ProcessEvent(ctx, id) }, "event", id)
}

// Close stops consuming and sweeping, waits for the events under way and
// commits the offsets of what was processed.
func (w *billingWorker) Close() {
	w.consumer.Close()
	w.sweeping.Wait()
}
