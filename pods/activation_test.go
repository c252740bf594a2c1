package pods_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/pods"
)

// TestActivationTokensAreSingleUse: a ready pod's token activates once —
// of eight uses at once exactly one succeeds — a wrong token or another
// pod's is unauthenticated, a used or expired one gone, and only a ready
// pod gets a token; on both backends.
func TestActivationTokensAreSingleUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		ctx := context.Background()
		var now atomic.Int64
		now.Store(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC).UnixNano())
		svc := pods.NewService(openStore(t, b), func() time.Time { return time.Unix(0, now.Load()) })
		ready := func() pods.Pod {
			p := deployed(t, svc, "a-1")
			for _, to := range []pods.State{pods.Provisioning, pods.Ready} {
				var err error
				if p, err = svc.Move(ctx, actor.System("test"), p, to, "", ""); err != nil {
					t.Fatal(err)
				}
			}
			return p
		}
		if _, err := svc.IssueActivation(ctx, deployed(t, svc, "a-1"), time.Hour); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("a token for a pending pod: %v", err)
		}

		p, other := ready(), ready()
		token, err := svc.IssueActivation(ctx, p, 24*time.Hour)
		if err != nil || len(token) < 40 {
			t.Fatalf("token %q, %v", token, err)
		}
		otherToken, _ := svc.IssueActivation(ctx, other, 24*time.Hour)
		for _, c := range []struct {
			name  string
			token string
		}{{"a wrong token", "not-the-token"}, {"another pod's token", otherToken}} {
			if err := svc.UseActivation(ctx, p, c.token); fault.KindOf(err) != fault.KindUnauthenticated {
				t.Fatalf("%s: %v", c.name, err)
			}
		}

		var wg sync.WaitGroup
		var ok, gone atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch err := svc.UseActivation(ctx, p, token); fault.KindOf(err) {
				case "":
					ok.Add(1)
				case fault.KindGone:
					gone.Add(1)
				default:
					t.Errorf("use: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || gone.Load() != 7 {
			t.Fatalf("%d uses succeeded and %d were gone; want 1 and 7", ok.Load(), gone.Load())
		}

		now.Add(int64(25 * time.Hour))
		if err := svc.UseActivation(ctx, other, otherToken); fault.KindOf(err) != fault.KindGone {
			t.Fatalf("an expired token: %v", err)
		}
		// A new token replaces the old one.
		fresh, err := svc.IssueActivation(ctx, other, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.UseActivation(ctx, other, otherToken); fault.KindOf(err) != fault.KindUnauthenticated {
			t.Fatalf("a replaced token: %v", err)
		}
		if err := svc.UseActivation(ctx, other, fresh); err != nil {
			t.Fatalf("the fresh token: %v", err)
		}
	})
}
