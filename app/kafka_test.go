package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/pods"
	"github.com/gpubroker/pod/tools"
)

// TestTheStreamSignsInWithSCRAM: against a cluster that demands SASL, the
// platform signs in with SCRAM and its events arrive; the settings are
// checked before anything connects.
func TestTheStreamSignsInWithSCRAM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "gpubroker", "s3cret pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cfg := Config{DataDir: t.TempDir(), KafkaBrokers: strings.Join(cluster.ListenAddrs(), ","), KafkaSASL: "scram-sha-512",
		KafkaUser: "gpubroker", KafkaPassword: "s3cret pass"}
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	openFreePlan(ctx, t, a)
	admin := actor.Actor{Kind: actor.KindUser, ID: "u-admin", TenantID: "default", Role: actor.RolePodAdmin}
	res := a.Tools.Call(ctx, tools.Request{Actor: admin, Face: audit.FaceDirect, Tool: tools.ToolConfigurePod,
		Input: []byte(`{"name":"train","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":100,
			"image":"cuda-12.4-base","pricing":"on_demand"}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	id := res.Output.(tools.PodQuote).Pod.ID
	opts, err := kafkaOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := kgo.NewClient(append(opts, kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("gpubroker.pod"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	for found := false; !found; {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the draft's event never arrived through the SASL cluster")
		}
		fs.EachRecord(func(r *kgo.Record) {
			var ce events.CloudEvent
			found = found || json.Unmarshal(r.Value, &ce) == nil && ce.Type == pods.EventConfigured && ce.Subject == id
		})
	}

	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"an unknown mechanism", Config{KafkaSASL: "kerberos"}, "want scram-sha-256"},
		{"SCRAM without a password", Config{KafkaSASL: "scram-sha-256", KafkaUser: "gpubroker"}, "GPUBROKER_KAFKA_PASSWORD"},
	} {
		if _, err := kafkaOptions(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	if opts, err := kafkaOptions(Config{KafkaSASL: "aws-msk-iam", AWSRegion: "eu-west-1"}); err != nil || len(opts) != 2 {
		t.Fatalf("MSK IAM: %d options, %v", len(opts), err)
	}
}
