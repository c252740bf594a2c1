package tools_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/policies"
	"github.com/gpubroker/pod/tools"
)

// visitor is someone who has not signed in, calling from an address.
var visitor = actor.Anonymous("acme", "192.0.2.7")

const anaSignup = `{"email":"Ana@Example.com","password":"violet-kettle-orbit-7","name":"Ana"}`

func call(t *testing.T, p *platformtest.Platform, a actor.Actor, tool, input string) tools.Result {
	t.Helper()
	return p.Registry.Call(context.Background(), tools.Request{Actor: a, Face: audit.FaceREST, Tool: tool, Input: []byte(input)})
}

func mustCall(t *testing.T, p *platformtest.Platform, a actor.Actor, tool, input string) any {
	t.Helper()
	r := call(t, p, a, tool, input)
	if r.Err != nil {
		t.Fatalf("%s: %v", tool, r.Err)
	}
	return r.Output
}

func wantFaultKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if fault.KindOf(err) != k {
		t.Fatalf("error = %v (kind %q), want kind %q", err, fault.KindOf(err), k)
	}
}

// linkToken is the token of the verification link in the newest
// verify_email message of box.
func linkToken(t *testing.T, box []mail.Record) string {
	t.Helper()
	for _, m := range box {
		if m.Kind != mail.KindVerifyEmail {
			continue
		}
		u, err := url.Parse(m.Links[0].URL)
		if err != nil || u.Path != "/verify-email" {
			t.Fatalf("verification link %q", m.Links[0].URL)
		}
		return u.Query().Get("token")
	}
	t.Fatalf("no verification mail in %+v", box)
	return ""
}

func kinds(box []mail.Record) []mail.Kind {
	var out []mail.Kind
	for _, m := range box {
		out = append(out, m.Kind)
	}
	return out
}

// TestRegisterVerifyAndSignIn: in a LIVE tenant a visitor registers, cannot
// sign in until the address is confirmed, finds the link in the mail,
// confirms with it once, and signs in.
func TestRegisterVerifyAndSignIn(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	p.GoLive(t, "acme")
	ctx := context.Background()

	reg := mustCall(t, p, visitor, tools.ToolRegister, anaSignup).(auth.Registration)
	if reg.Email != "ana@example.com" || reg.Status != auth.StatusVerificationSent || reg.Verify != auth.VerifyByLink {
		t.Fatalf("registration = %+v", reg)
	}
	users, _ := p.Identity.Users(ctx, "acme")
	if len(users) != 1 || users[0].Email != "ana@example.com" || users[0].Role != actor.RoleUser || users[0].EmailVerified {
		t.Fatalf("users = %+v; want one unconfirmed user", users)
	}
	_, err := p.Identity.Login(ctx, "ana@example.com", "violet-kettle-orbit-7", "")
	if !errors.Is(err, auth.ErrEmailUnverified) || fault.KindOf(err) != fault.KindForbidden {
		t.Fatalf("login before confirming = %v; want forbidden, email not verified", err)
	}

	box := p.Mailbox(t, "acme", "ana@example.com")
	if !reflect.DeepEqual(kinds(box), []mail.Kind{mail.KindVerifyEmail}) {
		t.Fatalf("mailbox = %v", kinds(box))
	}
	if !strings.HasPrefix(box[0].Links[0].URL, "http://127.0.0.1:8080/verify-email?token=") || !strings.Contains(box[0].Text, "Ana") {
		t.Fatalf("verification mail: %+v", box[0])
	}
	token := linkToken(t, box)
	v := mustCall(t, p, visitor, tools.ToolVerifyEmail, `{"token":"`+token+`"}`).(auth.Verified)
	if v.Email != "ana@example.com" || !v.Verified {
		t.Fatalf("verified = %+v", v)
	}
	if _, err := p.Identity.Login(ctx, "ana@example.com", "violet-kettle-orbit-7", ""); err != nil {
		t.Fatalf("login after confirming: %v", err)
	}
	wantFaultKind(t, call(t, p, visitor, tools.ToolVerifyEmail, `{"token":"`+token+`"}`).Err, fault.KindGone)

	p.Audit.Flush()
	for _, action := range []string{"auth.register", "auth.email_verified", "auth.login"} {
		if recs, _ := p.Store.QueryAudit(ctx, audit.Filter{Action: action}); len(recs) != 1 {
			t.Errorf("%d %s records, want 1", len(recs), action)
		}
	}
	recs, _ := p.Store.QueryAudit(ctx, audit.Filter{Action: tools.ToolRegister})
	if len(recs) != 1 || strings.Contains(string(recs[0].Input), "violet") || recs[0].Actor.Kind != actor.KindAnonymous ||
		recs[0].Actor.ID != "192.0.2.7" {
		t.Fatalf("the register call's audit record: %+v", recs)
	}
}

// TestAVerificationLinkWorksOnceAndNotAfterItExpires: an unknown token is
// refused (401), a used or expired one is gone (410), like activation
// links.
func TestAVerificationLinkWorksOnceAndNotAfterItExpires(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	p.GoLive(t, "acme")
	mustCall(t, p, visitor, tools.ToolRegister, anaSignup)
	token := linkToken(t, p.Mailbox(t, "acme", "ana@example.com"))

	wantFaultKind(t, call(t, p, visitor, tools.ToolVerifyEmail, `{"token":"not-a-token"}`).Err, fault.KindUnauthenticated)
	wrong := strings.Repeat("A", 43)
	wantFaultKind(t, call(t, p, visitor, tools.ToolVerifyEmail, `{"token":"`+wrong+`"}`).Err, fault.KindUnauthenticated)

	p.Clock.Advance(24*time.Hour + time.Second)
	wantFaultKind(t, call(t, p, visitor, tools.ToolVerifyEmail, `{"token":"`+token+`"}`).Err, fault.KindGone)
	if _, err := p.Identity.Login(context.Background(), "ana@example.com", "violet-kettle-orbit-7", ""); !errors.Is(err, auth.ErrEmailUnverified) {
		t.Fatalf("login after the link expired = %v", err)
	}

	// A new link works; the old one stays gone.
	mustCall(t, p, visitor, tools.ToolResendVerification, `{"email":"ana@example.com"}`)
	fresh := linkToken(t, p.Mailbox(t, "acme", "ana@example.com"))
	if fresh == token {
		t.Fatal("the new link carries the old token")
	}
	mustCall(t, p, visitor, tools.ToolVerifyEmail, `{"token":"`+fresh+`"}`)
	wantFaultKind(t, call(t, p, visitor, tools.ToolVerifyEmail, `{"token":"`+token+`"}`).Err, fault.KindGone)
}

// TestRegisteringATakenAddressAnswersTheSame: the answer is what a new
// registration gets, no account is made or changed, and the owner is
// mailed instead, in the owner's own tenant.
func TestRegisteringATakenAddressAnswersTheSame(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	p.GoLive(t, "acme")
	ctx := context.Background()
	first := call(t, p, visitor, tools.ToolRegister, anaSignup)
	again := call(t, p, actor.Anonymous("acme", "198.51.100.4"), tools.ToolRegister,
		`{"email":"ana@example.com","password":"another-long-phrase-9","name":"Mallory"}`)
	if first.Err != nil || again.Err != nil || !reflect.DeepEqual(first.Output, again.Output) {
		t.Fatalf("a new address answered %+v (%v), a taken one %+v (%v)", first.Output, first.Err, again.Output, again.Err)
	}
	if users, _ := p.Identity.Users(ctx, "acme"); len(users) != 1 || users[0].Name != "Ana" {
		t.Fatalf("users = %+v", users)
	}
	box := p.Mailbox(t, "acme", "ana@example.com")
	if !reflect.DeepEqual(kinds(box), []mail.Kind{mail.KindAlreadyRegistered, mail.KindVerifyEmail}) {
		t.Fatalf("mailbox = %v", kinds(box))
	}
	if box[0].Links[0].URL != "http://127.0.0.1:8080/login" || !strings.Contains(box[0].Text, "Hello Ana") {
		t.Fatalf("the owner's notice: %+v", box[0])
	}

	// An address with an account in another tenant: the same answer, and
	// its owner is mailed in beta.
	if _, err := p.Identity.CreateUser(ctx, actor.System("test"), auth.NewUser{TenantID: "beta", Email: "bo@example.com", Name: "Bo",
		Role: actor.RoleUser, Password: "correct-horse-42", Verified: true}); err != nil {
		t.Fatal(err)
	}
	bo := call(t, p, visitor, tools.ToolRegister, `{"email":"bo@example.com","password":"violet-kettle-orbit-7","name":"Bo"}`)
	want := first.Output.(auth.Registration)
	want.Email = "bo@example.com"
	want.Next = strings.ReplaceAll(want.Next, "ana@example.com", "bo@example.com")
	if bo.Err != nil || !reflect.DeepEqual(bo.Output, want) {
		t.Fatalf("bo's address answered %+v (%v), want %+v", bo.Output, bo.Err, want)
	}
	if box := p.Mailbox(t, "beta", "bo@example.com"); !reflect.DeepEqual(kinds(box), []mail.Kind{mail.KindAlreadyRegistered}) {
		t.Fatalf("bo's mailbox = %v", kinds(box))
	}
	if box := p.Mailbox(t, "acme", "bo@example.com"); len(box) != 0 {
		t.Fatalf("mail about bo's account went to acme: %v", kinds(box))
	}
}

// TestASandboxTenantConfirmsAtOnce: R7.8, no link and no mail.
func TestASandboxTenantConfirmsAtOnce(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	reg := mustCall(t, p, visitor, tools.ToolRegister, anaSignup).(auth.Registration)
	if reg.Status != auth.StatusConfirmed || reg.Verify != "" {
		t.Fatalf("registration = %+v", reg)
	}
	if _, err := p.Identity.Login(context.Background(), "ana@example.com", "violet-kettle-orbit-7", ""); err != nil {
		t.Fatalf("login: %v", err)
	}
	if box := p.Mailbox(t, "acme", "ana@example.com"); len(box) != 0 {
		t.Fatalf("mail sent: %v", kinds(box))
	}
}

// TestRegisteringChecksTheInput: each problem is named, the password's by
// the rules it breaks; a dry run checks without registering; a signed-in
// caller cannot register.
func TestRegisteringChecksTheInput(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	err := call(t, p, visitor, tools.ToolRegister, `{"email":"ana@","password":"password","name":""}`).Err
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.KindInvalid {
		t.Fatalf("error = %v", err)
	}
	var got []string
	for _, pr := range fe.Problems {
		rule, _, _ := strings.Cut(pr.Message, ":")
		if pr.Field == "password" {
			got = append(got, "password/"+rule)
		} else {
			got = append(got, pr.Field)
		}
	}
	want := []string{"email", "name", "password/min_length", "password/mix", "password/common_password", "password/min_score"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems = %v, want %v", got, want)
	}

	dry := call(t, p, visitor, tools.ToolRegister, `{"email":"ana@example.com","password":"violet-kettle-orbit-7","name":"Ana","dry_run":true}`)
	if pv, ok := dry.Output.(tools.Preview); dry.Err != nil || !ok || !strings.Contains(pv.Effect, "confirmed at once") {
		t.Fatalf("dry run = %+v, %v", dry.Output, dry.Err)
	}
	weakDry := call(t, p, visitor, tools.ToolRegister, `{"email":"ana@example.com","password":"password","name":"Ana","dry_run":true}`)
	wantFaultKind(t, weakDry.Err, fault.KindInvalid)
	if users, _ := p.Identity.Users(context.Background(), "acme"); len(users) != 0 {
		t.Fatalf("a dry run registered %+v", users)
	}
	wantFaultKind(t, call(t, p, platformtest.AcmeUser, tools.ToolRegister, anaSignup).Err, fault.KindForbidden)
}

// TestResendingSaysTheSameForEveryAddress: nothing is sent to an unknown
// or confirmed address, and a few links an hour at most to another.
func TestResendingSaysTheSameForEveryAddress(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	p.GoLive(t, "acme")
	mustCall(t, p, visitor, tools.ToolRegister, anaSignup)
	known := mustCall(t, p, visitor, tools.ToolResendVerification, `{"email":"ana@example.com"}`).(auth.Registration)
	unknown := mustCall(t, p, visitor, tools.ToolResendVerification, `{"email":"nobody@example.com"}`).(auth.Registration)
	unknown.Email, unknown.Next = known.Email, strings.ReplaceAll(unknown.Next, "nobody@example.com", "ana@example.com")
	if known != unknown {
		t.Fatalf("known address: %+v; unknown: %+v", known, unknown)
	}
	for range 6 {
		mustCall(t, p, visitor, tools.ToolResendVerification, `{"email":"ana@example.com"}`)
	}
	if box := p.Mailbox(t, "acme", "ana@example.com"); len(box) != 5 {
		t.Fatalf("%d links sent within the hour, want 5", len(box))
	}
	if box := p.Mailbox(t, "acme", "nobody@example.com"); len(box) != 0 {
		t.Fatalf("mail to an address without an account: %v", kinds(box))
	}
}

// TestVisitorsAreRateLimitedByAddress: the registry counts a visitor's
// calls by address, like every caller's.
func TestVisitorsAreRateLimitedByAddress(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	setLimit(t, p, "ratelimit.tool_calls_per_minute", "2")
	// Five calls fall in at most two one-minute windows, so one window
	// holds three or more: past the limit.
	limited := 0
	for range 5 {
		var ref *tools.Refusal
		if err := call(t, p, visitor, tools.ToolResendVerification, `{"email":"ana@example.com"}`).Err; errors.As(err, &ref) && ref.Verdict.Rule == policies.RuleRate {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited == 0 {
		t.Fatal("five calls from one address within seconds were not rate limited")
	}
	if err := call(t, p, actor.Anonymous("acme", "198.51.100.4"), tools.ToolResendVerification, `{"email":"ana@example.com"}`).Err; err != nil {
		t.Fatalf("another address was limited: %v", err)
	}
}
