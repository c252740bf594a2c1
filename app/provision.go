package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/pods"
)

// provisioner is the worker that starts deployed pods and scales running
// ones: a consumer group on the pod topic taking each deploy and scale
// request, and at start every pod a stopped worker left pending,
// provisioning or scaling.
type provisioner struct {
	client *kgo.Client
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// maxProvisioning bounds the pods provisioned at once by one instance.
const maxProvisioning = 8

func startProvisioner(conn []kgo.Opt, svc *pods.Service, m pods.Machines, ps *params.Service, log *slog.Logger) (*provisioner, error) {
	topic := events.Topic(ps.Snapshot().String("", "", "events.topic_prefix"), pods.EventDeployRequested)
	client, err := kgo.NewClient(append(conn, kgo.ConsumerGroup("gpubroker-provisioning"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AllowAutoTopicCreation())...)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	w := &provisioner{client: client, stop: stop}
	slots := make(chan struct{}, maxProvisioning)
	run := func(tenantID, id string, work func(ctx context.Context, tenantID, id string, m pods.Machines, opt pods.ProvisionOptions) (pods.Pod, error)) {
		slots <- struct{}{}
		w.wg.Add(1)
		go func() {
			defer func() { <-slots; w.wg.Done() }()
			snap := ps.Snapshot()
			opt := pods.ProvisionOptions{Attempts: int(snap.Int("", "", "pods.provision_attempts")),
				BootTimeout: snap.Duration("", "", "pods.boot_timeout"), Poll: time.Second}
			if _, err := work(ctx, tenantID, id, m, opt); err != nil && ctx.Err() == nil {
				log.Error("provision pod", "tenant", tenantID, "pod", id, "err", err)
			}
		}()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		// Resume what a stopped worker left; redeliveries are no-ops.
		if left, err := svc.Unfinished(ctx); err != nil {
			log.Error("list pods to resume", "err", err)
		} else {
			for _, p := range left {
				run(p.TenantID, p.ID, svc.Provision)
			}
		}
		if left, err := svc.ScalePending(ctx); err != nil {
			log.Error("list pod scales to resume", "err", err)
		} else {
			for _, p := range left {
				run(p.TenantID, p.ID, svc.Rescale)
			}
		}
		for ctx.Err() == nil {
			fs := client.PollFetches(ctx)
			fs.EachError(func(t string, p int32, err error) {
				if ctx.Err() == nil {
					log.Warn("consume pod events", "topic", t, "partition", p, "err", err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				var ce events.CloudEvent
				if err := json.Unmarshal(r.Value, &ce); err != nil {
					return
				}
				switch ce.Type {
				case pods.EventDeployRequested:
					run(ce.Tenant, ce.Subject, svc.Provision)
				case pods.EventScaleRequested:
					run(ce.Tenant, ce.Subject, svc.Rescale)
				}
			})
		}
	}()
	return w, nil
}

// Close stops consuming and waits for the provisionings under way.
func (w *provisioner) Close() {
	w.stop()
	w.wg.Wait()
	w.client.Close()
}
