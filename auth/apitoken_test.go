package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
)

func TestAPITokens(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	ana := actor.Actor{Kind: actor.KindUser, ID: f.user.ID, TenantID: "acme", Role: actor.RoleProUser, Name: "ana"}
	tok, plain, err := f.svc.CreateAPIToken(f.ctx, ana, "acme", actor.RoleProUser, "ci", []string{"pods:read"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	short, shortPlain, err := f.svc.CreateAPIToken(f.ctx, ana, "acme", actor.RoleUser, "short", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "gpb_"+tok.ID+"_") || len(plain) != len("gpb_")+16+1+43 {
		t.Fatalf("plaintext %q does not read gpb_<id>_<secret>", plain)
	}
	if strings.Contains(tok.SecretHash, plain[len("gpb_")+17:]) {
		t.Fatal("the stored hash contains the secret")
	}
	flip := func(s string) string { // change the secret's last character
		last := s[len(s)-1]
		r := byte('A')
		if last == 'A' {
			r = 'B'
		}
		return s[:len(s)-1] + string(r)
	}

	cases := []struct {
		name    string
		run     func() (actor.Actor, error)
		want    actor.Actor
		kind    fault.Kind
		wantErr string
	}{
		{"a fresh token authenticates as itself", func() (actor.Actor, error) { return f.svc.Authenticate(f.ctx, plain) },
			actor.Actor{Kind: actor.KindToken, ID: tok.ID, TenantID: "acme", Role: actor.RoleProUser, Name: "ci", Scope: "pods:read"}, "", ""},
		{"a changed secret is refused", func() (actor.Actor, error) { return f.svc.VerifyAPIToken(f.ctx, flip(plain)) },
			actor.Actor{}, fault.KindUnauthenticated, "api token is not valid"},
		{"an unknown id is refused", func() (actor.Actor, error) {
			return f.svc.VerifyAPIToken(f.ctx, "gpb_0123456789abcdef_"+plain[len(plain)-43:])
		}, actor.Actor{}, fault.KindUnauthenticated, "api token is not valid"},
		{"a truncated token is malformed", func() (actor.Actor, error) { return f.svc.VerifyAPIToken(f.ctx, plain[:30]) },
			actor.Actor{}, fault.KindUnauthenticated, "malformed"},
		{"a token past its ttl has expired", func() (actor.Actor, error) {
			f.clock.Advance(time.Hour)
			return f.svc.VerifyAPIToken(f.ctx, shortPlain)
		}, actor.Actor{}, fault.KindUnauthenticated, "expired"},
		{"a token without ttl lives on", func() (actor.Actor, error) { return f.svc.VerifyAPIToken(f.ctx, plain) },
			actor.Actor{Kind: actor.KindToken, ID: tok.ID, TenantID: "acme", Role: actor.RoleProUser, Name: "ci", Scope: "pods:read"}, "", ""},
		{"a user of another tenant may not revoke it", func() (actor.Actor, error) {
			return actor.Actor{}, f.svc.RevokeAPIToken(f.ctx, actor.Actor{Kind: actor.KindUser, ID: "u-bob", TenantID: "beta", Role: actor.RolePodAdmin}, tok.ID)
		}, actor.Actor{}, fault.KindNotFound, "not found"},
		{"a lesser user of its tenant may not revoke it", func() (actor.Actor, error) {
			return actor.Actor{}, f.svc.RevokeAPIToken(f.ctx, actor.Actor{Kind: actor.KindUser, ID: "u-cy", TenantID: "acme", Role: actor.RoleUser}, tok.ID)
		}, actor.Actor{}, fault.KindForbidden, "may not revoke"},
		{"its creator revokes it", func() (actor.Actor, error) { return actor.Actor{}, f.svc.RevokeAPIToken(f.ctx, ana, tok.ID) }, actor.Actor{}, "", ""},
		{"a revoked token is refused", func() (actor.Actor, error) { return f.svc.VerifyAPIToken(f.ctx, plain) },
			actor.Actor{}, fault.KindUnauthenticated, "revoked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.run()
			if c.kind != "" {
				wantFault(t, err, c.kind, c.wantErr)
				return
			}
			if err != nil || a != c.want {
				t.Fatalf("got %+v, %v; want %+v", a, err, c.want)
			}
		})
	}

	list, err := f.svc.ListAPITokens(f.ctx, "acme")
	if err != nil || len(list) != 2 || list[0].ID != short.ID || list[1].ID != tok.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if list[1].LastUsedAt.IsZero() || list[1].RevokedAt.IsZero() || list[1].CreatedBy != "user:"+f.user.ID {
		t.Fatalf("listed token = %+v; want last use, revocation and creator recorded", list[1])
	}
	if n := len(records(t, f, "auth.token_create")); n != 2 {
		t.Fatalf("token_create records = %d, want 2", n)
	}
	if n := len(records(t, f, "auth.token_revoke")); n != 1 {
		t.Fatalf("token_revoke records = %d, want 1", n)
	}
}

func TestCreateAPITokenRules(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	pro := actor.Actor{Kind: actor.KindUser, ID: "u-pro", TenantID: "acme", Role: actor.RoleProUser}
	tenantAdmin := actor.Actor{Kind: actor.KindUser, ID: "u-adm", TenantID: "acme", Role: actor.RolePodAdmin}
	operator := actor.Actor{Kind: actor.KindUser, ID: "u-op", TenantID: "default", Role: actor.RolePodAdmin}
	cases := []struct {
		name    string
		creator actor.Actor
		tenant  string
		role    actor.Role
		tname   string
		scopes  []string
		ttl     time.Duration
		kind    fault.Kind
		wantErr string
	}{
		{"a user may mint its own role", pro, "acme", actor.RoleProUser, "ok", nil, 0, "", ""},
		{"a user may mint a lesser role", pro, "acme", actor.RoleUser, "ok", nil, 0, "", ""},
		{"a user may not mint a role above its own", pro, "acme", actor.RolePodAdmin, "up", nil, 0, fault.KindForbidden, "may not create a token with role pod_admin"},
		{"a token may not mint a role above its own", actor.Actor{Kind: actor.KindToken, ID: "t", TenantID: "acme", Role: actor.RoleUser},
			"acme", actor.RoleProUser, "up", nil, 0, fault.KindForbidden, "may not create"},
		{"a tenant admin may not mint for another tenant", tenantAdmin, "beta", actor.RoleUser, "x", nil, 0, fault.KindForbidden, "may not create tokens for tenant"},
		{"the operator's admin may mint for any tenant", operator, "beta", actor.RolePodAdmin, "x", nil, 0, "", ""},
		{"the platform itself may mint", actor.System("seed"), "acme", actor.RolePodAdmin, "x", nil, 0, "", ""},
		{"a token for a missing tenant is not found", operator, "nobody", actor.RoleUser, "x", nil, 0, fault.KindNotFound, "nobody"},
		{"bad input lists every problem", pro, "", "root", "", []string{"Bad Scope"}, -time.Second, fault.KindInvalid,
			"tenant_id: is required; role: unknown role \"root\"; name: must be 1 to 100 characters; scopes[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, plain, err := f.svc.CreateAPIToken(f.ctx, c.creator, c.tenant, c.role, c.tname, c.scopes, c.ttl)
			if c.kind != "" {
				wantFault(t, err, c.kind, c.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, err := f.svc.VerifyAPIToken(f.ctx, plain)
			if err != nil || a.Role != c.role || a.TenantID != c.tenant || a.ID != tok.ID {
				t.Fatalf("verify = %+v, %v", a, err)
			}
		})
	}
}
