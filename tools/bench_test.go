package tools_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// Empty is the input and output of the no-op tool.
type Empty struct{}

type discard struct{}

func (discard) Record(audit.Record) {}

// BenchmarkCallNoop measures a call around a handler that does nothing:
// strict decoding, target lookup, every policy, the rate counter and the
// audit record. "pipeline" hands the record to a sink that drops it (the
// cost on the caller's path); "audit to sqlite" queues it to the real batch
// writer over SQLite, so the run is bounded by how fast records are stored.
func BenchmarkCallNoop(b *testing.B) {
	p := platformtest.New(b, "sqlite")
	// The tool is registered once per registry: the testing package may
	// run a sub-benchmark's function more than once.
	pipeline := tools.NewRegistry(tools.Deps{Tenants: p.Tenants, Limits: tools.ParamLimits{Params: p.Params}, Budget: p.Store, Audit: discard{}})
	for _, reg := range []*tools.Registry{pipeline, p.Registry} {
		tools.MustRegister(reg, tools.Def[Empty, Empty]{
			Name: "noop", Description: "Do nothing.", Group: "test", MinRole: actor.RoleUser, ReadOnly: true, Method: http.MethodGet,
			Handle: func(context.Context, *tools.Call, *Empty) (Empty, error) { return Empty{}, nil },
		})
	}
	b.Run("pipeline", func(b *testing.B) { benchNoop(b, p, pipeline) })
	b.Run("audit to sqlite", func(b *testing.B) { benchNoop(b, p, p.Registry) })
}

func benchNoop(b *testing.B, p *platformtest.Platform, reg *tools.Registry) {
	if _, err := p.Params.Set(context.Background(), platformtest.Operator, paramsRequest("ratelimit.tool_calls_per_minute", "100000")); err != nil {
		b.Fatal(err)
	}
	// Calls rotate over many users so the rate limit (at most 100 000 a
	// minute per actor and tool) does not end the run.
	reqs := make([]tools.Request, 1024)
	for i := range reqs {
		a := platformtest.AcmeUser
		a.ID = fmt.Sprintf("user-%d", i)
		reqs[i] = tools.Request{Actor: a, Face: "direct", Tool: "noop", Input: []byte(`{}`)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := reqs[i%len(reqs)]
		if r := reg.Call(ctx, req); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
