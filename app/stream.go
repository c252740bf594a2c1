package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/store"
)

// stream is the event stream: a Kafka-protocol broker (in process unless
// GPUBROKER_KAFKA_BROKERS names a cluster), the producing client, and the
// relay that publishes the outbox in the background.
type stream struct {
	cluster *kfake.Cluster // the in-process broker; nil with a real cluster
	client  *kgo.Client
	relay   *events.Relay
	brokers []string
	stop    context.CancelFunc
	done    chan struct{}
}

// openStream connects to the cluster (or starts the in-process broker on
// loopback) and starts relaying st's outbox to it.
func openStream(cfg Config, st *store.Store, ps *params.Service, log *slog.Logger) (*stream, error) {
	s := &stream{done: make(chan struct{})}
	brokers := splitList(cfg.KafkaBrokers)
	if len(brokers) == 0 {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()) // loopback, a free port
		if err != nil {
			return nil, fmt.Errorf("start the in-process Kafka broker: %w", err)
		}
		s.cluster, brokers = c, c.ListenAddrs()
	}
	client, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0))
	if err != nil {
		s.closeCluster()
		return nil, fmt.Errorf("connect to Kafka %v: %w", brokers, err)
	}
	s.client, s.brokers = client, brokers
	s.relay = events.NewRelay(st, client, events.RelayOptions{Log: log, Poll: 50 * time.Millisecond,
		Topic: func(t events.Type) string {
			return events.Topic(ps.Snapshot().String("", "", "events.topic_prefix"), t)
		}})
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go func() {
		defer close(s.done)
		_ = s.relay.Run(ctx)
	}()
	return s, nil
}

// Close stops the relay and closes the client and the in-process broker.
func (s *stream) Close() {
	s.stop()
	<-s.done
	s.client.Close()
	s.closeCluster()
}

func (s *stream) closeCluster() {
	if s.cluster != nil {
		s.cluster.Close()
	}
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
