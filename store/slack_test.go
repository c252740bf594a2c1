package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/store"
)

// testSlackMessages: a decision's message is recorded once; a revision is
// claimed only while the message shows none later, the same one again
// (so a failed update is tried again); a decision never posted claims
// nothing.
func testSlackMessages(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	_, _, _, err := s.SlackMessage(ctx, "dec_1")
	wantKind(t, err, fault.KindNotFound)
	if err := s.AddSlackMessage(ctx, "acme", "dec_1", "C42", "1700000000.000100", 1, at); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.AddSlackMessage(ctx, "acme", "dec_1", "C42", "1700000000.000200", 1, at), fault.KindConflict)
	tenantID, channel, ts, err := s.SlackMessage(ctx, "dec_1")
	if err != nil || tenantID != "acme" || channel != "C42" || ts != "1700000000.000100" {
		t.Fatalf("message = %q %q %q, %v", tenantID, channel, ts, err)
	}
	for _, c := range []struct {
		name     string
		id       string
		revision int64
		want     bool
	}{
		{"a later revision is claimed", "dec_1", 3, true},
		{"the same revision is claimed again", "dec_1", 3, true},
		{"an earlier revision is not", "dec_1", 2, false},
		{"a decision never posted claims nothing", "dec_2", 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ClaimSlackRevision(ctx, c.id, c.revision, at.Add(time.Minute))
			if err != nil || got != c.want {
				t.Fatalf("claim %s revision %d = %v, %v; want %v", c.id, c.revision, got, err, c.want)
			}
		})
	}
}

// testSlackSignatures: a signature is new once; once older than the
// window it is forgotten, so the table does not grow without end.
func testSlackSignatures(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	see := func(sig string, at time.Time) bool {
		t.Helper()
		fresh, err := s.SeeSlackSignature(ctx, sig, at, at.Add(-5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !see("v0=aa", at) {
		t.Fatal("a first signature was not new")
	}
	if see("v0=aa", at.Add(time.Minute)) {
		t.Fatal("a signature seen a minute ago was new again")
	}
	if !see("v0=bb", at.Add(time.Minute)) {
		t.Fatal("another signature was not new")
	}
	if !see("v0=aa", at.Add(10*time.Minute)) {
		t.Fatal("a signature from before the window was still remembered")
	}
}

// testSlackUsers: a user is linked to a Slack id within their tenant and
// found by it; one Slack id links one user of a tenant; "" unlinks;
// another tenant's user is neither linked nor found.
func testSlackUsers(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkTenant(t, s, "beta")
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, u := range []auth.User{
		{ID: "u1", TenantID: "acme", Email: "ana@acme.test", Name: "Ana", Role: actor.RolePodAdmin},
		{ID: "u2", TenantID: "acme", Email: "bo@acme.test", Name: "Bo", Role: actor.RoleUser},
		{ID: "u3", TenantID: "beta", Email: "cy@beta.test", Name: "Cy", Role: actor.RolePodAdmin},
	} {
		u.CreatedAt, u.UpdatedAt = now, now
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if u, err := s.SetSlackUserID(ctx, "acme", "u1", "U0ANA"); err != nil || u.ID != "u1" {
		t.Fatalf("link: %+v %v", u, err)
	}
	if u, err := s.UserBySlackID(ctx, "acme", "U0ANA"); err != nil || u.ID != "u1" || u.Role != actor.RolePodAdmin {
		t.Fatalf("found %+v, %v", u, err)
	}
	_, err := s.UserBySlackID(ctx, "beta", "U0ANA")
	wantKind(t, err, fault.KindNotFound)
	_, err = s.SetSlackUserID(ctx, "acme", "u2", "U0ANA")
	wantKind(t, err, fault.KindConflict)
	_, err = s.SetSlackUserID(ctx, "acme", "u3", "U0CY")
	wantKind(t, err, fault.KindNotFound)
	if _, err := s.SetSlackUserID(ctx, "beta", "u3", "U0ANA"); err != nil {
		t.Fatalf("the same Slack id in another tenant's workspace: %v", err)
	}
	if _, err := s.SetSlackUserID(ctx, "acme", "u1", ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.UserBySlackID(ctx, "acme", "U0ANA")
	wantKind(t, err, fault.KindNotFound)
	if _, err := s.SetSlackUserID(ctx, "acme", "u2", "U0ANA"); err != nil {
		t.Fatalf("an unlinked Slack id could not be linked again: %v", err)
	}
}
