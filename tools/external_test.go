package tools_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// TestAnOutsideToolIsCalledThroughThePipeline: call_external_tool previews
// its call without making it, runs it for a POD Admin, refuses a bad
// input, and is neither shown to nor callable by a plain user; every call
// is audited.
func TestAnOutsideToolIsCalledThroughThePipeline(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	q := platformtest.NewQuotaServer(t)
	p.NameMCPServer(t, "acme", "quota", q.URL, nil)
	ctx := context.Background()
	call := func(input string) tools.Result {
		return p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeAdmin, Face: audit.FaceREST, Tool: tools.ToolCallExternal, Input: []byte(input)})
	}

	t.Run("a dry run says what it would call and calls nothing", func(t *testing.T) {
		res := call(`{"server":"quota","tool":"lookup_quota","arguments":{"gpu":"H100"},"dry_run":true}`)
		pv, ok := res.Output.(tools.Preview)
		if res.Err != nil || !ok || pv.Effect != `call lookup_quota on MCP server quota with {"gpu":"H100"}` {
			t.Fatalf("preview %+v, %v", res.Output, res.Err)
		}
		if q.Calls() != 0 {
			t.Fatal("the dry run called the server")
		}
	})
	t.Run("a POD Admin's call answers the tool's result", func(t *testing.T) {
		res := call(`{"server":"quota","tool":"lookup_quota","arguments":{"gpu":"H100"}}`)
		out, ok := res.Output.(tools.ExternalResult)
		if res.Err != nil || !ok || string(out.Result) != `"quota for H100: 8 GPUs"` {
			t.Fatalf("got %+v, %v", res.Output, res.Err)
		}
	})
	t.Run("an unknown server is not found", func(t *testing.T) {
		res := call(`{"server":"cmdb","tool":"lookup_quota"}`)
		if fault.KindOf(res.Err) != fault.KindNotFound || !strings.Contains(res.Err.Error(), "cmdb") {
			t.Fatalf("err = %v", res.Err)
		}
	})
	t.Run("a bad server name is refused before any call", func(t *testing.T) {
		res := call(`{"server":"Quota!","tool":"lookup_quota"}`)
		if fault.KindOf(res.Err) != fault.KindInvalid {
			t.Fatalf("err = %v", res.Err)
		}
	})
	t.Run("a plain user neither sees it nor may call it", func(t *testing.T) {
		if slices.ContainsFunc(p.Registry.Visible(platformtest.AcmeUser), func(m tools.Meta) bool { return m.Name == tools.ToolCallExternal }) {
			t.Fatal("a user sees call_external_tool")
		}
		before := q.Calls()
		res := p.Registry.Call(ctx, tools.Request{Actor: platformtest.AcmeUser, Face: audit.FaceREST, Tool: tools.ToolCallExternal,
			Input: []byte(`{"server":"quota","tool":"lookup_quota","arguments":{"gpu":"H100"}}`)})
		var ref *tools.Refusal
		if !errors.As(res.Err, &ref) || q.Calls() != before {
			t.Fatalf("a user's call: %v (server calls %d → %d)", res.Err, before, q.Calls())
		}
	})
	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: tools.ToolCallExternal})
	if err != nil || len(recs) < 5 {
		t.Fatalf("%d calls of call_external_tool audited (%v), want every one", len(recs), err)
	}
}
