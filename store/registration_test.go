package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/store"
)

// TestRegistrationConformance runs the registration tables' suite
// (verification links, linked identities, OAuth sign-ins under way)
// against every backend.
func TestRegistrationConformance(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"AVerificationLinkIsUsedOnceAndVerifiesItsUser", testVerificationLinks},
		{"OfConcurrentUsesOfALinkExactlyOneSucceeds", testVerificationRace},
		{"MarkingAnAddressVerifiedCanDropThePassword", testSetEmailVerified},
		{"IdentitiesAreUniqueByProviderAndSubject", testIdentities},
		{"OAuthStatesAreTakenOnceAndExpiredOnesPruned", testOAuthStates},
		{"DeletingATenantRemovesItsLinksAndIdentities", testRegistrationCascade},
	}
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.fn(t, open(t, dbtest.New(t, b.Name).URL))
			})
		}
	})
}

func mkLink(t *testing.T, s *store.Store, hash, userID string, created, expires int) auth.EmailVerification {
	t.Helper()
	v := auth.EmailVerification{TokenHash: hash, UserID: userID, CreatedAt: at(created), ExpiresAt: at(expires)}
	if err := s.CreateVerification(context.Background(), v); err != nil {
		t.Fatalf("create link %s: %v", hash, err)
	}
	return v
}

func testVerificationLinks(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	mkUser(t, s, "acme", "u2")
	first := mkLink(t, s, "h1", "u1", 0, 60)
	mkLink(t, s, "h2", "u1", 5, 65)
	other := mkLink(t, s, "h3", "u2", 5, 65)
	wantKind(t, s.CreateVerification(ctx, first), fault.KindConflict)
	wantKind(t, s.CreateVerification(ctx, auth.EmailVerification{TokenHash: "h4", UserID: "nobody", CreatedAt: at(0), ExpiresAt: at(1)}),
		fault.KindNotFound)

	got, err := s.Verification(ctx, "h1")
	if err != nil || got != first {
		t.Fatalf("Verification = %+v, %v; want %+v", got, err, first)
	}
	_, err = s.Verification(ctx, "nope")
	wantKind(t, err, fault.KindNotFound)
	if n, err := s.CountVerifications(ctx, "u1", at(1)); err != nil || n != 1 {
		t.Fatalf("links of u1 since minute 1 = %d, %v; want 1", n, err)
	}

	if err := s.ConfirmEmail(ctx, "h1", at(10)); err != nil {
		t.Fatal(err)
	}
	u, _ := s.UserByID(ctx, "u1")
	if !u.EmailVerified || !u.UpdatedAt.Equal(at(10)) {
		t.Fatalf("after confirming: %+v", u)
	}
	for _, h := range []string{"h1", "h2"} {
		if v, _ := s.Verification(ctx, h); !v.UsedAt.Equal(at(10)) {
			t.Fatalf("link %s used at %v, want every link of the user retired at %v", h, v.UsedAt, at(10))
		}
	}
	wantKind(t, s.ConfirmEmail(ctx, "h1", at(11)), fault.KindConflict)
	wantKind(t, s.ConfirmEmail(ctx, "h2", at(11)), fault.KindConflict)
	wantKind(t, s.ConfirmEmail(ctx, "nope", at(11)), fault.KindConflict)
	if v, _ := s.Verification(ctx, "h3"); v != other {
		t.Fatalf("another user's link changed: %+v", v)
	}
	if u2, _ := s.UserByID(ctx, "u2"); u2.EmailVerified {
		t.Fatal("another user was verified")
	}
}

func testVerificationRace(t *testing.T, s *store.Store) {
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	mkLink(t, s, "h1", "u1", 0, 60)
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			switch err := s.ConfirmEmail(context.Background(), "h1", at(1+i)); {
			case err == nil:
				wins.Add(1)
			case fault.KindOf(err) == fault.KindConflict:
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 7 {
		t.Fatalf("%d uses succeeded and %d conflicted; want 1 and 7", wins.Load(), conflicts.Load())
	}
}

func testSetEmailVerified(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	keep := mkUser(t, s, "acme", "u1")
	mkUser(t, s, "acme", "u2")
	if err := s.SetEmailVerified(ctx, "u1", at(3), false); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, "u1"); !u.EmailVerified || u.PasswordHash != keep.PasswordHash || !u.UpdatedAt.Equal(at(3)) {
		t.Fatalf("verified keeping the password: %+v", u)
	}
	if err := s.SetEmailVerified(ctx, "u2", at(4), true); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx, "u2"); !u.EmailVerified || u.PasswordHash != "" {
		t.Fatalf("verified dropping the password: %+v", u)
	}
	wantKind(t, s.SetEmailVerified(ctx, "nobody", at(4), false), fault.KindNotFound)
}

func testIdentities(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	mkUser(t, s, "acme", "u2")
	g := auth.Identity{Provider: "google", Subject: "1077", UserID: "u1", Email: "u1@acme.test", CreatedAt: at(0)}
	if err := s.CreateIdentity(ctx, g); err != nil {
		t.Fatal(err)
	}
	got, err := s.Identity(ctx, "google", "1077")
	if err != nil || got != g {
		t.Fatalf("Identity = %+v, %v; want %+v", got, err, g)
	}
	taken := g
	taken.UserID = "u2"
	wantKind(t, s.CreateIdentity(ctx, taken), fault.KindConflict)
	gh := auth.Identity{Provider: "github", Subject: "1077", UserID: "u2", Email: "u2@acme.test", CreatedAt: at(1)}
	if err := s.CreateIdentity(ctx, gh); err != nil {
		t.Fatalf("the same subject at another provider: %v", err)
	}
	wantKind(t, s.CreateIdentity(ctx, auth.Identity{Provider: "github", Subject: "9", UserID: "nobody", CreatedAt: at(1)}), fault.KindNotFound)
	_, err = s.Identity(ctx, "google", "9")
	wantKind(t, err, fault.KindNotFound)
}

func testOAuthStates(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mk := func(hash, ip string, created, expires int) auth.OAuthState {
		t.Helper()
		st := auth.OAuthState{Hash: hash, Provider: "github", Verifier: "v-" + hash, ClientIP: ip, CreatedAt: at(created), ExpiresAt: at(expires)}
		if err := s.CreateOAuthState(ctx, st); err != nil {
			t.Fatalf("create state %s: %v", hash, err)
		}
		return st
	}
	first := mk("s1", "192.0.2.1", 0, 10)
	mk("s2", "192.0.2.1", 1, 11)
	mk("s3", "192.0.2.9", 2, 12)
	wantKind(t, s.CreateOAuthState(ctx, first), fault.KindConflict)
	if n, err := s.CountOAuthStates(ctx, "192.0.2.1", at(0)); err != nil || n != 2 {
		t.Fatalf("sign-ins of 192.0.2.1 = %d, %v; want 2", n, err)
	}
	got, err := s.TakeOAuthState(ctx, "s1")
	if err != nil || got != first {
		t.Fatalf("TakeOAuthState = %+v, %v; want %+v", got, err, first)
	}
	_, err = s.TakeOAuthState(ctx, "s1")
	wantKind(t, err, fault.KindNotFound)
	// A sign-in begun at minute 12 prunes those that expired before it.
	mk("s4", "192.0.2.9", 12, 22)
	_, err = s.TakeOAuthState(ctx, "s2")
	wantKind(t, err, fault.KindNotFound)
	if _, err := s.TakeOAuthState(ctx, "s3"); err != nil {
		t.Fatalf("a state expiring at the minute the next began was pruned: %v", err)
	}
}

func testRegistrationCascade(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	mkLink(t, s, "h1", "u1", 0, 60)
	if err := s.CreateIdentity(ctx, auth.Identity{Provider: "google", Subject: "1", UserID: "u1", Email: "u1@acme.test", CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, "acme", rec("tenant.delete", "acme")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Verification(ctx, "h1")
	wantKind(t, err, fault.KindNotFound)
	_, err = s.Identity(ctx, "google", "1")
	wantKind(t, err, fault.KindNotFound)
}
