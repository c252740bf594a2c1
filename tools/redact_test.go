package tools_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/tools"
)

// LoginInput has one secret field and one plain one.
type LoginInput struct {
	tools.Control
	User   string `json:"user"`
	Secret string `json:"secret" audit:"redact"`
}

func TestTaggedSecretsNeverReachTheAuditLog(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	var seen []string
	tools.MustRegister(p.Registry, tools.Def[LoginInput, platformtest.Spent]{
		Name: "store_login", Description: "Store a login.", Group: "test", MinRole: actor.RoleUser, Method: http.MethodPost,
		Preview: func(context.Context, *tools.Call, *LoginInput) (tools.Preview, error) {
			return tools.Preview{Effect: "store"}, nil
		},
		Handle: func(_ context.Context, _ *tools.Call, in *LoginInput) (platformtest.Spent, error) {
			seen = append(seen, in.Secret)
			return platformtest.Spent{OK: true}, nil
		},
	})
	call := func(input string) {
		t.Helper()
		if r := p.Registry.Call(context.Background(), tools.Request{Actor: platformtest.AcmeUser, Face: "direct",
			Tool: "store_login", Input: []byte(input)}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	call(`{"user":"ada","secret":"hunter2-hunter2"}`)
	call(`{"user":"bob"}`)
	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(context.Background(), audit.Filter{TenantID: "acme", Action: "store_login"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d audit records, want 2", len(recs))
	}
	if len(seen) != 2 || seen[0] != "hunter2-hunter2" {
		t.Fatalf("the handler saw %q: redaction must touch only the audit copy", seen)
	}
	set, unset := string(recs[1].Input), string(recs[0].Input) // newest first
	if strings.Contains(set, "hunter2") || !strings.Contains(set, `"secret":"[redacted]"`) || !strings.Contains(set, `"user":"ada"`) {
		t.Fatalf("a set secret was recorded as %s", set)
	}
	if !strings.Contains(unset, `"secret":""`) || !strings.Contains(unset, `"user":"bob"`) {
		t.Fatalf("an empty secret was recorded as %s", unset)
	}
}
