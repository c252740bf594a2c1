package mcpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mcpclient"
	"github.com/gpubroker/pod/platformtest"
)

// TestTheServersOfATenantAreListedAndCalled drives a real MCP server on
// loopback through the tenant's parameters.
func TestTheServersOfATenantAreListedAndCalled(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	q := platformtest.NewQuotaServer(t)
	p.NameMCPServer(t, "acme", "quota", q.URL, map[string]string{"Authorization": "Bearer t0ken"})
	ctx := context.Background()

	t.Run("its tools are listed with their schemas and hints", func(t *testing.T) {
		list, err := p.External.List(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var found *mcpclient.Tool
		for i := range list {
			if list[i].Name == "lookup_quota" {
				found = &list[i]
			}
		}
		if found == nil || found.Server != "quota" || !found.ReadOnly || !strings.Contains(string(found.InputSchema), `"gpu"`) {
			t.Fatalf("tools %+v", list)
		}
		if got := q.Header("Authorization"); got != "Bearer t0ken" {
			t.Fatalf("the server got Authorization %q, want the tenant's sealed header", got)
		}
	})
	t.Run("a call answers the tool's text as JSON", func(t *testing.T) {
		out, err := p.External.Call(ctx, "acme", "quota", "lookup_quota", json.RawMessage(`{"gpu":"H100"}`))
		if err != nil {
			t.Fatal(err)
		}
		var text string
		if err := json.Unmarshal(out, &text); err != nil || text != "quota for H100: 8 GPUs" {
			t.Fatalf("answered %s (%v)", out, err)
		}
	})
	t.Run("a tool that reports an error is an error", func(t *testing.T) {
		_, err := p.External.Call(ctx, "acme", "quota", "broken", nil)
		var te *mcpclient.ToolError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "the quota backend is down") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("another tenant does not reach the server", func(t *testing.T) {
		_, err := p.External.Call(ctx, "beta", "quota", "lookup_quota", json.RawMessage(`{"gpu":"H100"}`))
		if fault.KindOf(err) != fault.KindNotFound {
			t.Fatalf("err = %v, want not found", err)
		}
		if list, err := p.External.List(ctx, "beta"); err != nil || len(list) != 0 {
			t.Fatalf("beta lists %v, %v", list, err)
		}
	})
	t.Run("a change of the server's URL reaches the next call", func(t *testing.T) {
		other := platformtest.NewQuotaServer(t)
		p.NameMCPServer(t, "acme", "quota", other.URL, nil)
		if _, err := p.External.Call(ctx, "acme", "quota", "lookup_quota", json.RawMessage(`{"gpu":"L4"}`)); err != nil {
			t.Fatal(err)
		}
		if other.Calls() != 1 {
			t.Fatalf("the new server ran %d calls, want 1", other.Calls())
		}
	})
	t.Run("a server that is down is unavailable, quickly", func(t *testing.T) {
		down := platformtest.NewQuotaServer(t)
		down.Stop()
		p.NameMCPServer(t, "acme", "quota", down.URL, nil)
		start := time.Now()
		_, err := p.External.Call(ctx, "acme", "quota", "lookup_quota", json.RawMessage(`{"gpu":"L4"}`))
		if fault.KindOf(err) != fault.KindUnavailable || !strings.Contains(err.Error(), "MCP server quota") {
			t.Fatalf("err = %v, want unavailable naming the server", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("a refused connection took %s", time.Since(start))
		}
		if _, err := p.External.List(ctx, "acme"); err == nil {
			t.Fatal("listing a server that is down reported no error")
		}
	})
	t.Run("after Close a call fails", func(t *testing.T) {
		s := mcpclient.New(mcpclient.Options{Servers: func(context.Context, string) ([]mcpclient.Server, error) {
			return []mcpclient.Server{{Name: "quota", URL: q.URL}}, nil
		}})
		if _, err := s.Call(ctx, "acme", "quota", "lookup_quota", json.RawMessage(`{"gpu":"A10"}`)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := s.Call(ctx, "acme", "quota", "lookup_quota", json.RawMessage(`{"gpu":"A10"}`)); err == nil {
			t.Fatal("a call after Close succeeded")
		}
	})
}
