package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/slack"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// slackWorker shows the agent's decisions in Slack: a consumer group on
// the agent's topic handing each decision event to the Slack face, which
// posts the decision's message the first time and updates it after. A
// record's offset is committed only once Slack took it (or it was given
// up on), so a worker stopped while Slack is down leaves the rest to the
// next one.
type slackWorker struct{ *consumer }

const (
	// slackGroup is the consumer group of every instance's Slack worker.
	slackGroup = "gpubroker-slack"
	// slackPartitions bounds the partitions shown at once by one
	// instance; a tenant's decisions share a partition, so its messages
	// move in the order its decisions did.
	slackPartitions = 4
	// slackAttempts is how often one event is tried while Slack is down
	// before it is given up on (and logged); slackBackoff is the first
	// wait between tries, doubling after each: about half an hour in all,
	// and the next event of the decision brings its message up to date.
	slackAttempts = 12
	slackBackoff  = time.Second
)

// newSlackFace builds the Slack face over the tools registry and the
// store; apiURL is Slack's Web API ("" for Slack's own).
func newSlackFace(reg *tools.Registry, st *store.Store, ps *params.Service, ts *tenant.Service, apiURL string, log *slog.Logger) *slack.Face {
	return slack.New(slack.Deps{Tools: reg, Configs: slackConfigs(ps, ts), Messages: st, Signatures: st, Users: st, Audit: st,
		APIURL: apiURL, Now: time.Now, Log: log.With("face", "slack")})
}

// slackConfigs reads a tenant's slack.* parameters in its mode; the
// global ones for tenant "".
func slackConfigs(ps *params.Service, ts *tenant.Service) slack.Configs {
	return func(ctx context.Context, tenantID string) (slack.Config, error) {
		if tenantID == "" {
			return slack.ConfigFrom(ps.Snapshot(), "", ""), nil
		}
		tn, err := ts.Lookup(ctx, tenantID)
		if err != nil {
			return slack.Config{}, err
		}
		return slack.ConfigFrom(ps.Snapshot(), tenantID, tn.Mode), nil
	}
}

// slackInteractions is the handler of POST /slack/interactions and
// /slack/interactions/{tenant}.
func slackInteractions(face *slack.Face) http.Handler { return face.Interactions() }

func startSlackWorker(conn []kgo.Opt, face *slack.Face, ps *params.Service, log *slog.Logger) (*slackWorker, error) {
	return startSlackWorkerWith(conn, face, ps, log, slackAttempts, slackBackoff)
}

// startSlackWorkerWith is startSlackWorker trying each event attempts
// times, the first wait backoff.
func startSlackWorkerWith(conn []kgo.Opt, face *slack.Face, ps *params.Service, log *slog.Logger, attempts int,
	backoff time.Duration) (*slackWorker, error) {
	topic := events.Topic(ps.Snapshot().String("", "", "events.topic_prefix"), decision.EventDecisionProposed)
	c, _, err := consume(conn, slackGroup, topic, slackPartitions, "decision events", log, func(ctx context.Context, r *kgo.Record) bool {
		d, ok := decisionOf(r)
		if !ok {
			return true // not a decision's event: nothing to show
		}
		return persistently(ctx, log, attempts, backoff, "decision not shown in Slack", "given up until its next event", slack.Final,
			func() error { return face.Show(ctx, d) }, "decision", d.ID, "tenant", d.TenantID, "status", d.Status)
	})
	if err != nil {
		return nil, err
	}
	return &slackWorker{c}, nil
}

// decisionEvents are the events a decision's move publishes.
var decisionEvents = func() []events.Type {
	var out []events.Type
	for _, s := range decision.Statuses {
		out = append(out, decision.EventFor(s))
	}
	return out
}()

// decisionOf reads the decision a record's event carries.
func decisionOf(r *kgo.Record) (decision.Decision, bool) {
	var ce events.CloudEvent
	var m decision.Moved
	if json.Unmarshal(r.Value, &ce) != nil || !slices.Contains(decisionEvents, ce.Type) || json.Unmarshal(ce.Data, &m) != nil {
		return decision.Decision{}, false
	}
	return m.Decision, m.Decision.ID != "" && m.Decision.TenantID != ""
}
