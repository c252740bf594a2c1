package params_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// BenchmarkSnapshotGet reads a parameter the way every request does: the
// current snapshot, then a resolution that falls through tenant+mode,
// tenant and global+mode to a global value.
func BenchmarkSnapshotGet(b *testing.B) {
	in := newInstance(b, dbtest.New(b, "sqlite").URL, sealer(b))
	withTenant(b, in.st, "acme")
	set(b, in.svc, params.Scope{}, "billing.markup_percent", "12.5")
	set(b, in.svc, params.Scope{TenantID: "acme", Mode: mode.Live}, "providers.request_timeout", "3s")
	b.Run("resolved at global scope", func(b *testing.B) {
		b.ReportAllocs()
		var sink float64
		for b.Loop() {
			sink += in.svc.Snapshot().Float("acme", mode.Sandbox, "billing.markup_percent")
		}
		if sink == 0 {
			b.Fatal("read nothing")
		}
	})
	b.Run("resolved at tenant+mode scope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if in.svc.Snapshot().Duration("acme", mode.Live, "providers.request_timeout") == 0 {
				b.Fatal("read nothing")
			}
		}
	})
	b.Run("default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if in.svc.Snapshot().Int("acme", mode.Live, "agent.max_iterations") == 0 {
				b.Fatal("read nothing")
			}
		}
	})
}

// BenchmarkSetRoundTrip measures one parameter write as a caller sees it:
// validate, commit value and history in a transaction, bump the revision,
// and reload the snapshot so the caller reads its own write.
func BenchmarkSetRoundTrip(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			in := newInstance(b, dbtest.New(b, name).URL, sealer(b))
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				v := strconv.Itoa(i%400 + 1)
				if _, err := in.svc.Set(ctx, admin, params.SetRequest{Key: "billing.markup_percent", Value: v, Confirm: "global"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
