package tools_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// TestTheAuditLogIsFilteredByFaceAndVerdictAndPaged: query_audit finds a
// tenant's records by the face they came through and their verdict,
// pages older records by the cursor it answers, and refuses a face or
// verdict it does not know, and a time range that ends before it begins.
func TestTheAuditLogIsFilteredByFaceAndVerdictAndPaged(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour)
	for i, r := range []audit.Record{
		{Face: audit.FaceMCP, Verdict: "allow", Action: "list_offers"},
		{Face: audit.FaceSlack, Verdict: "deny", Action: "approve_decision"},
		{Face: audit.FaceMCP, Verdict: "deny", Action: "deploy_pod"},
		{Face: audit.FaceWeb, Verdict: "allow", Action: "stop_pod"},
	} {
		r.TenantID, r.At, r.Actor = "acme", at.Add(time.Duration(i)*time.Second), platformtest.AcmeUser
		if _, err := p.Store.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	query := func(input string) tools.AuditList {
		t.Helper()
		return mustCall(t, p, platformtest.AcmeAdmin, tools.ToolQueryAudit, input).(tools.AuditList)
	}
	for _, c := range []struct{ input, want string }{
		{`{"face":"mcp"}`, "deploy_pod list_offers"},
		{`{"verdict":"deny"}`, "deploy_pod approve_decision"},
		{`{"face":"mcp","verdict":"deny"}`, "deploy_pod"},
		{`{"face":"slack","verdict":"allow"}`, ""},
	} {
		got := ""
		for _, r := range query(c.input).Records {
			if r.Face != audit.FaceDirect && r.Face != audit.FaceREST { // not the queries themselves
				got += " " + r.Action
			}
		}
		if len(got) > 0 {
			got = got[1:]
		}
		if got != c.want {
			t.Errorf("%s found %q, want %q", c.input, got, c.want)
		}
	}

	first := query(`{"face":"mcp","limit":1}`)
	if len(first.Records) != 1 || first.Records[0].Action != "deploy_pod" || first.Next == 0 {
		t.Fatalf("first page %+v", first)
	}
	second := query(fmt.Sprintf(`{"face":"mcp","limit":1,"before":%d}`, first.Next))
	if len(second.Records) != 1 || second.Records[0].Action != "list_offers" {
		t.Fatalf("second page %+v", second)
	}
	if last := query(fmt.Sprintf(`{"face":"mcp","limit":1,"before":%d}`, second.Next)); len(last.Records) != 0 || last.Next != 0 {
		t.Fatalf("past the last page %+v", last)
	}

	for _, input := range []string{`{"face":"fax"}`, `{"verdict":"maybe"}`,
		`{"since":"2025-03-02T00:00:00Z","until":"2025-03-01T00:00:00Z"}`, `{"limit":5000}`} {
		wantFaultKind(t, call(t, p, platformtest.AcmeAdmin, tools.ToolQueryAudit, input).Err, fault.KindInvalid)
	}
}
