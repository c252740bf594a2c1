package billing

import (
	"context"
	"errors"
	"testing"

	"github.com/gpubroker/pod/pods"
)

// endless yields intervals until its context ends.
type endless struct{ read int }

func (e *endless) EachUsage(ctx context.Context, _ pods.UsageFilter, fn func(pods.Usage) error) error {
	for ctx.Err() == nil {
		e.read++
		if err := fn(pods.Usage{PodID: "p"}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// TestAPipelinedRollupStopsReadingAtItsFirstError: every interval read
// is charged in order, and the first failure to charge one stops the
// reading and is the answer.
func TestAPipelinedRollupStopsReadingAtItsFirstError(t *testing.T) {
	src := &endless{}
	broken := errors.New("broken")
	charged := 0
	err := pipelined(context.Background(), src, pods.UsageFilter{}, func(pods.Usage) error {
		charged++
		if charged == 5000 {
			return broken
		}
		return nil
	})
	if !errors.Is(err, broken) || charged != 5000 || src.read < 5000 {
		t.Fatalf("err %v after charging %d of %d read", err, charged, src.read)
	}
}
