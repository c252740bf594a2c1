package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/dbtest"
)

// BenchmarkAppendAudits measures storing audit records in batches of 256,
// as the audit writer does; ns/op is per record.
func BenchmarkAppendAudits(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			s := open(b, dbtest.New(b, backend).URL)
			batch := make([]audit.Record, 256)
			for i := range batch {
				batch[i] = audit.Record{At: time.Now().UTC(), Actor: admin, Face: "rest", TenantID: "acme", Mode: "SANDBOX",
					Action: "list_offers", Input: json.RawMessage(`{"gpu":"H100-SXM-80GB"}`), Verdict: "allow", Duration: time.Millisecond}
			}
			ctx := context.Background()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n%len(batch) == 0 {
					if err := s.AppendAudits(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				n++
			}
		})
	}
}
