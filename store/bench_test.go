package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/events"
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

// BenchmarkChangeWithEvent measures one domain change (an approval row)
// committed with its outbox event, and the same with its audit record
// written in the transaction too: the difference is what auditing
// mutations in their own transaction, instead of through the queue, would
// cost each call.
func BenchmarkChangeWithEvent(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		s := open(b, dbtest.New(b, backend).URL)
		ctx := context.Background()
		requester := actor.Actor{Kind: actor.KindUser, ID: "u", TenantID: "acme", Role: actor.RoleUser}
		for _, withAudit := range []bool{false, true} {
			name := backend + "/outbox"
			if withAudit {
				name += "+audit"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					now := time.Now().UTC()
					a := pendingApproval(uuid.NewString(), now, requester)
					e, err := events.New("approval.requested", a.ID, "acme", map[string]string{"id": a.ID}, now)
					if err != nil {
						b.Fatal(err)
					}
					err = s.InTx(ctx, func(ctx context.Context) error {
						if err := s.CreateApproval(ctx, a); err != nil {
							return err
						}
						if withAudit {
							if _, err := s.AppendAudit(ctx, rec("spend_money", "acme")); err != nil {
								return err
							}
						}
						return s.Enqueue(ctx, e)
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
