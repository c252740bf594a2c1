package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/store"
)

const topic = "gpubroker.pod"

// broker starts an in-process Kafka-protocol broker whose produce requests
// fail while down is set.
func broker(t testing.TB) (*kfake.Cluster, *atomic.Bool) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	down := new(atomic.Bool)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	return c, down
}

func client(t testing.TB, c kfakeCluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestNothingCommittedIsLostWhileTheBrokerIsDown: a hundred deploy events
// committed while the broker refuses every produce stay in the outbox; once
// it is back, each reaches a consumer (exactly once after deduplication by
// id), in commit order per pod, as a CloudEvent, and the outbox empties.
func TestNothingCommittedIsLostWhileTheBrokerIsDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		st, err := store.Open(ctx, b.URL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c, down := broker(t)
		down.Store(true)

		const n = 100
		at := time.Now()
		for i := range n {
			// Two events per pod, so order per key can be checked.
			for step := range 2 {
				e, err := events.New("pod.deploy_requested", fmt.Sprintf("pod-%03d", i), "acme", map[string]int{"step": step}, at)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Enqueue(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		relay := events.NewRelay(st, client(t, c), events.RelayOptions{Poll: 20 * time.Millisecond})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- relay.Run(runCtx) }()
		t.Cleanup(func() { stop(); <-done })

		time.Sleep(300 * time.Millisecond)
		if depth, _ := st.OutboxDepth(ctx); depth != 2*n {
			t.Fatalf("while the broker is down the outbox holds %d events; want all %d", depth, 2*n)
		}
		down.Store(false)

		consumer := client(t, c, kgo.ConsumeTopics(topic), kgo.ConsumerGroup("provisioning"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		seen := map[string]bool{}
		steps := map[string][]int{}
		for len(seen) < 2*n {
			fs := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("only %d of %d events arrived", len(seen), 2*n)
			}
			fs.EachRecord(func(r *kgo.Record) {
				var ce events.CloudEvent
				if err := json.Unmarshal(r.Value, &ce); err != nil || ce.SpecVersion != "1.0" || ce.Type != "pod.deploy_requested" ||
					ce.Subject != string(r.Key) || ce.Tenant != "acme" || ce.Source != "/gpubroker" {
					t.Fatalf("record %s: %+v %v", r.Value, ce, err)
				}
				if seen[ce.ID] {
					return // a redelivery: consumers deduplicate by id
				}
				seen[ce.ID] = true
				var data map[string]int
				_ = json.Unmarshal(ce.Data, &data)
				steps[ce.Subject] = append(steps[ce.Subject], data["step"])
			})
		}
		for pod, s := range steps {
			if len(s) != 2 || s[0] != 0 || s[1] != 1 {
				t.Fatalf("%s saw steps %v; want 0 then 1", pod, s)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			depth, err := st.OutboxDepth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if depth == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d events still unmarked after delivery", depth)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

type kfakeCluster = *kfake.Cluster

// pruning is an outbox with nothing pending that records when it was
// asked to prune.
type pruning struct{ before chan time.Time }

func (pruning) PendingEvents(context.Context, int) ([]events.Event, error) { return nil, nil }
func (pruning) MarkPublished(context.Context, []string, time.Time) error   { return nil }
func (p pruning) PruneOutbox(_ context.Context, before time.Time) (int64, error) {
	p.before <- before
	return 0, nil
}

// TestTheRelayPrunesWhatItPublishedLongAgo: a running relay deletes the
// events published longer ago than the retention, every PruneEvery.
func TestTheRelayPrunesWhatItPublishedLongAgo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := pruning{before: make(chan time.Time, 10)}
	relay := events.NewRelay(p, nil, events.RelayOptions{Poll: time.Millisecond, PruneEvery: 5 * time.Millisecond,
		Keep: func() time.Duration { return time.Hour }})
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	for range 2 {
		select {
		case before := <-p.before:
			if ago := time.Since(before); ago < time.Hour || ago > time.Hour+time.Minute {
				t.Fatalf("pruned what was published before %v (%v ago); want an hour ago", before, ago)
			}
		case <-ctx.Done():
			t.Fatal("the relay never pruned")
		}
	}
	cancel()
	<-done
}
