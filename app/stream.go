package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	kaws "github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/scram"

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
	// opts connect a client to the cluster: its brokers, TLS and SASL.
	opts []kgo.Opt
	stop context.CancelFunc
	done chan struct{}
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
	opts, err := kafkaOptions(cfg)
	if err != nil {
		s.closeCluster()
		return nil, err
	}
	s.opts = slices.Clip(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)) // each client appends its own
	client, err := kgo.NewClient(append(s.opts, kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0))...)
	if err != nil {
		s.closeCluster()
		return nil, fmt.Errorf("connect to Kafka %v: %w", brokers, err)
	}
	s.client, s.brokers = client, brokers
	s.relay = events.NewRelay(st, client, events.RelayOptions{Log: log, Poll: 50 * time.Millisecond,
		Keep: func() time.Duration { return ps.Snapshot().Duration("", "", "events.outbox_retention") },
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

// kafkaOptions are the TLS and SASL options of the configured cluster.
func kafkaOptions(cfg Config) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if cfg.KafkaTLS || cfg.KafkaSASL == "aws-msk-iam" {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	switch cfg.KafkaSASL {
	case "":
		return opts, nil
	case "scram-sha-256", "scram-sha-512":
		if cfg.KafkaUser == "" || cfg.KafkaPassword == "" {
			return nil, fmt.Errorf("GPUBROKER_KAFKA_SASL=%s needs GPUBROKER_KAFKA_USER and GPUBROKER_KAFKA_PASSWORD", cfg.KafkaSASL)
		}
		auth := scram.Auth{User: cfg.KafkaUser, Pass: cfg.KafkaPassword}
		if cfg.KafkaSASL == "scram-sha-256" {
			return append(opts, kgo.SASL(auth.AsSha256Mechanism())), nil
		}
		return append(opts, kgo.SASL(auth.AsSha512Mechanism())), nil
	case "aws-msk-iam":
		awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(cfg.AWSRegion))
		if err != nil {
			return nil, fmt.Errorf("aws config for MSK IAM: %w", err)
		}
		// Credentials are fetched per connection, so rotated ones are used.
		return append(opts, kgo.SASL(kaws.ManagedStreamingIAM(func(ctx context.Context) (kaws.Auth, error) {
			c, err := awsCfg.Credentials.Retrieve(ctx)
			if err != nil {
				return kaws.Auth{}, err
			}
			return kaws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		}))), nil
	}
	return nil, fmt.Errorf("GPUBROKER_KAFKA_SASL=%q: want scram-sha-256, scram-sha-512 or aws-msk-iam", cfg.KafkaSASL)
}
