package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// TestAPodAdminLinksAUserToSlack: a POD Admin links a user of their
// tenant to a Slack id (previewed by a dry run, audited, found again by
// it); a user who is not an admin, a malformed id and another tenant's
// user are refused.
func TestAPodAdminLinksAUserToSlack(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	ctx := context.Background()
	p.Person(t, "acme", "u-ana", "ana@acme.test", "Ana", actor.RolePodAdmin)
	p.Person(t, "beta", "u-di", "di@beta.test", "Di", actor.RolePodAdmin)

	res := call(t, p, platformtest.AcmeAdmin, tools.ToolSetSlackUser, `{"user_id":"u-ana","slack_user_id":"U0ANA","dry_run":true}`)
	if pv, ok := res.Output.(tools.Preview); res.Err != nil || !ok || !strings.Contains(pv.Effect, "U0ANA") {
		t.Fatalf("dry run: %+v", res)
	}
	if _, err := p.Store.UserBySlackID(ctx, "acme", "U0ANA"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("a dry run linked the user: %v", err)
	}
	out := mustCall(t, p, platformtest.AcmeAdmin, tools.ToolSetSlackUser, `{"user_id":"u-ana","slack_user_id":"U0ANA"}`)
	if link := out.(tools.SlackLink); link.UserID != "u-ana" || link.SlackUserID != "U0ANA" || link.TenantID != "acme" {
		t.Fatalf("link %+v", link)
	}
	if u, err := p.Store.UserBySlackID(ctx, "acme", "U0ANA"); err != nil || u.ID != "u-ana" {
		t.Fatalf("found %+v, %v", u, err)
	}
	p.Audit.Flush()
	recs, err := p.Store.QueryAudit(ctx, audit.Filter{TenantID: "acme", Action: tools.ToolSetSlackUser})
	if err != nil || len(recs) == 0 || recs[0].Verdict != "allow" || !strings.Contains(string(recs[0].Input), "U0ANA") {
		t.Fatalf("audit %+v, %v", recs, err)
	}

	res = call(t, p, platformtest.AcmeUser, tools.ToolSetSlackUser, `{"user_id":"u-ana","slack_user_id":"U0BO"}`)
	if res.Err == nil || res.Verdict.Allowed() || res.Verdict.Rule != policies.RuleRole {
		t.Fatalf("a user who is not an admin: %+v", res)
	}
	for _, c := range []struct {
		name  string
		by    actor.Actor
		input string
		kind  fault.Kind
	}{
		{"a malformed Slack id is invalid", platformtest.AcmeAdmin, `{"user_id":"u-ana","slack_user_id":"ana"}`, fault.KindInvalid},
		{"another tenant's user is not found", platformtest.AcmeAdmin, `{"user_id":"u-di","slack_user_id":"U0DI"}`, fault.KindNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFaultKind(t, call(t, p, c.by, tools.ToolSetSlackUser, c.input).Err, c.kind)
		})
	}
}
