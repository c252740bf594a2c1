package events_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/store"
)

// BenchmarkRelay measures the relay on the in-process broker, per backend:
// "throughput" publishes and marks batches of 500 committed events (events/s
// is the figure), "latency" is from an event's commit to a consumer
// receiving it, one at a time (p50 and p99).
func BenchmarkRelay(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend+"/throughput", func(b *testing.B) {
			st, relay, _ := relaySetup(b, backend)
			ctx := context.Background()
			b.ReportAllocs()
			n := 0
			var relaying time.Duration
			for b.Loop() {
				b.StopTimer() // committing the events is not the relay's work
				batch := make([]events.Event, 500)
				for i := range batch {
					batch[i], _ = events.New("pod.state_changed", fmt.Sprintf("pod-%d", i%50), "acme", map[string]int{"i": i}, time.Now())
				}
				if err := st.InTx(ctx, func(ctx context.Context) error { return st.Enqueue(ctx, batch...) }); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for {
					got, err := relay.Pass(ctx)
					if err != nil {
						b.Fatal(err)
					}
					n += got
					if got < 500 {
						break
					}
				}
				relaying += time.Since(start)
			}
			b.ReportMetric(float64(n)/relaying.Seconds(), "events/s")
		})
		b.Run(backend+"/latency", func(b *testing.B) {
			st, relay, c := relaySetup(b, backend)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = relay.Run(ctx) }()
			consumer := client(b, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(10*time.Millisecond))
			var lat []time.Duration
			for b.Loop() {
				e, _ := events.New("pod.state_changed", "pod-1", "acme", map[string]int{}, time.Now())
				start := time.Now()
				if err := st.Enqueue(ctx, e); err != nil {
					b.Fatal(err)
				}
				relay.Nudge()
				for got := false; !got; {
					consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
						for _, h := range r.Headers {
							if h.Key == "ce_id" && string(h.Value) == e.ID {
								got = true
							}
						}
					})
				}
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func relaySetup(b *testing.B, backend string) (*store.Store, *events.Relay, kfakeCluster) {
	st, err := store.Open(context.Background(), dbtest.New(b, backend).URL, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c, _ := broker(b)
	return st, events.NewRelay(st, client(b, c, kgo.ProducerLinger(0)), events.RelayOptions{Poll: time.Millisecond}), c
}
