package auth_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
)

func TestAuthEventsAreAuditedWithoutSecrets(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	ctx := auth.WithClientIP(f.ctx, "203.0.113.7")
	var secrets []string
	keep := func(s ...string) { secrets = append(secrets, s...) }
	keep(testPassword, "wrong horse battery 9")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	totpSecret, url, err := f.svc.EnrollTOTP(ctx, f.user.ID)
	must(err)
	keep(totpSecret, url)
	code := f.code(t, totpSecret, 0)
	keep(code)
	must(f.svc.ConfirmTOTP(ctx, f.user.ID, code))
	f.clock.Advance(30 * time.Second)
	code = f.code(t, totpSecret, 0)
	keep(code)
	first, err := f.svc.Login(ctx, f.user.Email, testPassword, code)
	must(err)
	keep(first.AccessToken, first.RefreshToken)
	_, err = f.svc.Login(ctx, f.user.Email, "wrong horse battery 9", "")
	if err == nil {
		t.Fatal("wrong password signed in")
	}
	second, err := f.svc.Refresh(ctx, first.RefreshToken)
	must(err)
	keep(second.AccessToken, second.RefreshToken)
	if _, err := f.svc.Refresh(ctx, first.RefreshToken); err == nil {
		t.Fatal("reuse went unnoticed")
	}
	must(f.svc.Logout(ctx, second.RefreshToken))
	f.clock.Advance(30 * time.Second)
	code = f.code(t, totpSecret, 0)
	keep(code)
	must(f.svc.DisableTOTP(ctx, f.user.ID, code))
	ana := actor.Actor{Kind: actor.KindUser, ID: f.user.ID, TenantID: "acme", Role: actor.RoleProUser}
	tok, plain, err := f.svc.CreateAPIToken(ctx, ana, "acme", actor.RoleUser, "ci", nil, 0)
	must(err)
	keep(plain, plain[len("gpb_")+17:], tok.SecretHash)
	must(f.svc.RevokeAPIToken(ctx, ana, tok.ID))
	_, err = f.svc.RotateSigningKey(actor.With(ctx, actor.System("cron")))
	must(err)

	all, err := f.st.QueryAudit(f.ctx, audit.Filter{})
	must(err)
	byAction := map[string][]audit.Record{}
	for _, r := range all {
		byAction[r.Action] = append(byAction[r.Action], r)
		raw, _ := json.Marshal(r)
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s record holds a secret (%.8s…): %s", r.Action, s, raw)
			}
		}
	}
	for _, c := range []struct {
		action  string
		verdict string
		input   string // a fragment the record's input must hold
	}{
		{"auth.mfa_enrol", "allow", `"user_id":"u-ana"`},
		{"auth.mfa_enabled", "allow", `"ip":"203.0.113.7"`},
		{"auth.login", "allow", `"amr":["pwd","otp"]`},
		{"auth.login_failed", "deny", `"email":"ana@acme.test"`},
		{"auth.refresh", "allow", `"family":`},
		{"auth.refresh_reuse", "deny", `"family":`},
		{"auth.logout", "allow", `"family":`},
		{"auth.mfa_disabled", "allow", `"user_id":"u-ana"`},
		{"auth.token_create", "allow", `"role":"user"`},
		{"auth.token_revoke", "allow", `"id":"` + tok.ID + `"`},
		{"auth.signing_key_rotated", "allow", `"retired_kid":`},
	} {
		t.Run(c.action+" is recorded", func(t *testing.T) {
			rs := byAction[c.action]
			if len(rs) != 1 {
				t.Fatalf("%d records, want 1", len(rs))
			}
			r := rs[0]
			if r.Verdict != c.verdict || !strings.Contains(string(r.Input), c.input) || !strings.Contains(string(r.Input), "203.0.113.7") {
				t.Fatalf("record = %+v, input %s; want verdict %s and input holding %s and the ip", r, r.Input, c.verdict, c.input)
			}
			if c.action != "auth.signing_key_rotated" && c.action != "auth.login_failed" && r.Actor.ID != f.user.ID {
				t.Fatalf("actor = %+v; want the user", r.Actor)
			}
		})
	}
	if r := byAction["auth.signing_key_rotated"]; len(r) == 1 && r[0].Actor.ID != "cron" {
		t.Fatalf("rotation actor = %+v; want the caller in ctx", r[0].Actor)
	}
}
