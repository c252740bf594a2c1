package parity_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/budget"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mcp"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// answer is one face's reply reduced to what the approval flow reads.
type answer struct {
	status     string // ok, needs_approval, not_found, gone, conflict, forbidden, deny
	approvalID string
	state      string // the approval's state in an approve/reject answer
}

// caller makes a call by token on one face.
type caller func(t *testing.T, token, tool string, in map[string]any) answer

func directCaller(p *platformtest.Platform) caller {
	return func(t *testing.T, token, tool string, in map[string]any) answer {
		raw, _ := json.Marshal(in)
		res := p.Registry.Call(context.Background(), tools.Request{Actor: p.Tokens[token], Face: audit.FaceDirect, Tool: tool, Input: raw})
		if res.Err == nil {
			b, _ := json.Marshal(res.Output)
			return okAnswer(b)
		}
		var ref *tools.Refusal
		if errors.As(res.Err, &ref) {
			a := answer{status: string(ref.Verdict.Decision)}
			if ref.Approval != nil {
				a.approvalID = ref.Approval.ID
			}
			return a
		}
		if k := fault.KindOf(res.Err); k != "" {
			return answer{status: string(k)}
		}
		t.Fatalf("%s: unexpected error %v", tool, res.Err)
		return answer{}
	}
}

func okAnswer(b []byte) answer {
	var out struct {
		Approval struct {
			State string `json:"state"`
		} `json:"approval"`
	}
	_ = json.Unmarshal(b, &out)
	return answer{status: "ok", state: out.Approval.State}
}

func restCaller(p *platformtest.Platform, srv string) caller {
	return func(t *testing.T, token, tool string, in map[string]any) answer {
		m, _ := p.Registry.Tool(tool)
		path := m.Path
		if id, ok := in["id"].(string); ok {
			path = strings.ReplaceAll(path, "{id}", id)
			delete(in, "id")
		}
		b, _ := json.Marshal(in)
		req, _ := http.NewRequest(m.Method, srv+"/api/v1"+path, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&body)
		var prob api.Problem
		_ = json.Unmarshal(body, &prob)
		switch resp.StatusCode {
		case http.StatusOK:
			return okAnswer(body)
		case http.StatusAccepted:
			if prob.Approval == nil || resp.Header.Get("Location") != "/api/v1/approvals/"+prob.Approval.ID {
				t.Fatalf("202 without its approval: %s, Location %q", body, resp.Header.Get("Location"))
			}
			return answer{status: "needs_approval", approvalID: prob.Approval.ID}
		case http.StatusNotFound:
			return answer{status: "not_found"}
		case http.StatusGone:
			return answer{status: "gone"}
		case http.StatusConflict:
			return answer{status: "conflict"}
		case http.StatusForbidden:
			if strings.HasSuffix(prob.Type, "/deny") {
				return answer{status: "deny"}
			}
			return answer{status: "forbidden"}
		}
		t.Fatalf("%s: status %d %s", tool, resp.StatusCode, body)
		return answer{}
	}
}

func mcpCaller(t *testing.T, p *platformtest.Platform) caller {
	clients := mcpClients(t, p)
	return func(t *testing.T, token, tool string, in map[string]any) answer {
		req := mcpgo.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = tool, in
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := clients[token].CallTool(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.IsError {
			return okAnswer([]byte(res.Content[0].(mcpgo.TextContent).Text))
		}
		var info mcp.ErrorInfo
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &info)
		return answer{status: info.Kind, approvalID: info.ApprovalID}
	}
}

// TestApprovalFlowOnEveryFace: a held call is stored and answered with an
// id on every face; an admin approves it and it runs exactly once, from the
// stored input, as its requester with the approver in its audit record; a
// reused, expired, rejected, forged or foreign id is refused.
func TestApprovalFlowOnEveryFace(t *testing.T) {
	faces := map[string]func(t *testing.T, p *platformtest.Platform) caller{
		"direct": func(_ *testing.T, p *platformtest.Platform) caller { return directCaller(p) },
		"rest": func(t *testing.T, p *platformtest.Platform) caller {
			srv := httptest.NewServer(api.NewRouter(api.Deps{Health: p.Store, Tools: p.Registry, Auth: p.Tokens}))
			t.Cleanup(srv.Close)
			return restCaller(p, srv.URL)
		},
		"mcp": mcpCaller,
	}
	for name, build := range faces {
		t.Run(name, func(t *testing.T) {
			p := platformtest.New(t, "sqlite")
			runs := platformtest.RegisterSpend(p.Registry)
			set := func(key, value string) {
				if _, err := p.Params.Set(context.Background(), platformtest.Operator,
					params.SetRequest{Scope: params.Scope{TenantID: "acme"}, Key: key, Value: value, Confirm: "acme"}); err != nil {
					t.Fatal(err)
				}
			}
			set("approvals.spend_threshold_usd", "5")
			set("approvals.ttl", "1h")
			call := build(t, p)
			spend := func() answer {
				return call(t, "acme-user", platformtest.SpendTool, map[string]any{"cost_usd": "9"})
			}
			decide := func(token, tool, id string) answer {
				return call(t, token, tool, map[string]any{"id": id, "note": "checked"})
			}

			held := spend()
			if held.status != "needs_approval" || !strings.HasPrefix(held.approvalID, "apr_") {
				t.Fatalf("a costly call answered %+v; want needs_approval with an id", held)
			}
			if runs.Load() != 0 {
				t.Fatal("a held call ran")
			}
			if a := call(t, "acme-user", platformtest.SpendTool, map[string]any{"cost_usd": "2"}); a.status != "ok" {
				t.Fatalf("a call under the threshold answered %+v", a)
			}
			if a := decide("acme-user", tools.ToolApproveCall, held.approvalID); a.status != "deny" {
				t.Fatalf("a user approving answered %+v; want a role denial", a)
			}
			if a := decide("beta-admin", tools.ToolApproveCall, held.approvalID); a.status != "not_found" {
				t.Fatalf("another tenant's admin approving answered %+v; want not found", a)
			}
			if a := decide("acme-admin", tools.ToolApproveCall, "apr_forged0000000000000000000"); a.status != "not_found" {
				t.Fatalf("a forged id answered %+v; want not found", a)
			}
			if a := decide("acme-admin", tools.ToolApproveCall, held.approvalID); a.status != "ok" || a.state != "executed" {
				t.Fatalf("approving answered %+v; want the call executed", a)
			}
			if a := decide("acme-admin", tools.ToolApproveCall, held.approvalID); a.status != "conflict" {
				t.Fatalf("approving again answered %+v; want a conflict", a)
			}
			if runs.Load() != 2 { // the small call, and the approved one once
				t.Fatalf("the tool ran %d times; want 2", runs.Load())
			}

			rejected := spend()
			if a := decide("acme-admin", tools.ToolRejectCall, rejected.approvalID); a.status != "ok" || a.state != "rejected" {
				t.Fatalf("rejecting answered %+v", a)
			}
			if a := decide("acme-admin", tools.ToolApproveCall, rejected.approvalID); a.status != "conflict" {
				t.Fatalf("approving a rejected call answered %+v; want a conflict", a)
			}

			period := budget.Period(p.Clock.Now())
			late := spend()
			p.Clock.Advance(2 * time.Hour)
			for range 2 {
				if a := decide("acme-admin", tools.ToolApproveCall, late.approvalID); a.status != "gone" {
					t.Fatalf("approving an expired call answered %+v; want gone", a)
				}
			}
			if runs.Load() != 2 {
				t.Fatalf("the tool ran %d times; want still 2", runs.Load())
			}

			// The approved call is audited as its requester's, naming the
			// approval and the approver; the budget spent its estimate.
			p.Audit.Flush()
			recs, err := p.Store.QueryAudit(context.Background(), audit.Filter{TenantID: "acme", Action: platformtest.SpendTool})
			if err != nil {
				t.Fatal(err)
			}
			var executed []audit.Record
			for _, r := range recs {
				if r.ApprovedBy != "" {
					executed = append(executed, r)
				}
			}
			if len(executed) != 1 || executed[0].Actor.ID != "acme-user" || executed[0].ApprovalID != held.approvalID ||
				executed[0].ApprovedBy != "user:acme-admin" || executed[0].Verdict != "allow" {
				t.Fatalf("audit of the executed call: %+v", executed)
			}
			u, err := p.Store.BudgetUsage(context.Background(), "acme", period, "")
			if err != nil {
				t.Fatal(err)
			}
			if u.Spent != money.MustParse("11") || u.Held != 0 {
				t.Fatalf("budget %+v; want $11 spent ($2 + the approved $9)", u)
			}
		})
	}
}
