package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"
)

// consumer is a consumer group on one topic handing each record to a
// handler, a partition's records in order and at most partitions of them
// at once. A record's offset is committed only once the handler is done
// with it, so delivery is at least once: a worker stopped mid-way leaves
// the rest to the next one. Close stops it, waits for the records under
// way and commits what was done.
type consumer struct {
	client *kgo.Client
	stop   context.CancelFunc
	done   chan struct{}
	what   string
	log    *slog.Logger
}

// consume starts a consumer of group on topic. handle reports false when
// ctx ended before it was done with the record (it is left uncommitted).
func consume(conn []kgo.Opt, group, topic string, partitions int, what string, log *slog.Logger,
	handle func(ctx context.Context, r *kgo.Record) bool) (*consumer, context.Context, error) {
	client, err := kgo.NewClient(append(conn, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation(), kgo.AutoCommitMarks())...)
	if err != nil {
		return nil, nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &consumer{client: client, stop: stop, done: make(chan struct{}), what: what, log: log}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			fs := client.PollFetches(ctx)
			fs.EachError(func(t string, p int32, err error) {
				if ctx.Err() == nil {
					log.Warn("consume "+what, "topic", t, "partition", p, "err", err)
				}
			})
			var g errgroup.Group
			g.SetLimit(partitions)
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				g.Go(func() error {
					for _, r := range p.Records {
						if !handle(ctx, r) {
							return nil // stopping: the rest is the next worker's
						}
						client.MarkCommitRecords(r)
					}
					return nil
				})
			})
			_ = g.Wait()
		}
	}()
	return c, ctx, nil
}

// Close stops consuming, waits for the records under way and commits the
// offsets of what was done.
func (c *consumer) Close() {
	c.stop()
	<-c.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.client.CommitMarkedOffsets(ctx); err != nil {
		c.log.Warn("commit the offsets of "+c.what, "err", err)
	}
	c.client.Close()
}

// persistently calls try until it succeeds, final says its error is not
// worth another try, or attempts ran out (each logged with attrs); the
// first wait between tries is backoff, doubling after each. It reports
// false only when ctx ended first.
func persistently(ctx context.Context, log *slog.Logger, attempts int, backoff time.Duration, notDone, gaveUp string,
	final func(error) bool, try func() error, attrs ...any) bool {
	wait := backoff
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if final(err) || attempt == attempts {
			log.Error(notDone+"; "+gaveUp, append(attrs, "attempts", attempt, "err", err)...)
			return true
		}
		log.Warn(notDone+"; trying again", append(attrs, "attempt", attempt, "in", wait, "err", err)...)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait *= 2
	}
}
