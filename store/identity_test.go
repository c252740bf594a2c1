package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/store"
)

// TestIdentityConformance runs the identity tables' suite (auth.Repo)
// against every backend.
func TestIdentityConformance(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"UsersAreFoundByID", testUserByID},
		{"OnlyOneSigningKeyIsActiveAndRetiredOnesAgeOut", testSigningKeys},
		{"ARefreshTokenRotatesOnceAndItsFamilyRevokesTogether", testRefreshTokens},
		{"ExpiredRefreshTokensArePurged", testRefreshPurge},
		{"MFAStepsOnlyMoveForward", testUserMFA},
		{"APITokensAreListedTouchedAndRevoked", testAPITokens},
		{"DeletingATenantRemovesItsCredentials", testIdentityCascade},
	}
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.fn(t, open(t, dbtest.New(t, b.Name).URL))
			})
		}
	})
}

func at(min int) time.Time {
	return time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC).Add(time.Duration(min) * time.Minute)
}

func mkUser(t *testing.T, s *store.Store, tenantID, id string) auth.User {
	t.Helper()
	u := auth.User{ID: id, TenantID: tenantID, Email: id + "@" + tenantID + ".test", Name: id, Role: actor.RoleUser,
		PasswordHash: "$argon2id$…", CreatedAt: at(0), UpdatedAt: at(0)}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", id, err)
	}
	return u
}

func testUserByID(t *testing.T, s *store.Store) {
	mkTenant(t, s, "acme")
	u := mkUser(t, s, "acme", "u1")
	got, err := s.UserByID(context.Background(), "u1")
	if err != nil || got != u {
		t.Fatalf("UserByID = %+v, %v; want %+v", got, err, u)
	}
	_, err = s.UserByID(context.Background(), "nobody")
	wantKind(t, err, fault.KindNotFound)
}

func testSigningKeys(t *testing.T, s *store.Store) {
	ctx := context.Background()
	k1 := auth.SigningKey{KID: "k1", Sealed: []byte{0, 1, 2, 255}, CreatedAt: at(0)}
	if err := s.AddSigningKey(ctx, k1, false); err != nil {
		t.Fatal(err)
	}
	k2 := auth.SigningKey{KID: "k2", Sealed: []byte("sealed two"), CreatedAt: at(10)}
	wantKind(t, s.AddSigningKey(ctx, k2, false), fault.KindConflict)
	if err := s.AddSigningKey(ctx, k2, true); err != nil {
		t.Fatal(err)
	}
	k1.RetiredAt = k2.CreatedAt
	for _, c := range []struct {
		name         string
		retiredAfter time.Time
		want         []auth.SigningKey
	}{
		{"a key retired after the cut-off is still listed", at(5), []auth.SigningKey{k2, k1}},
		{"a key retired before the cut-off is not", at(15), []auth.SigningKey{k2}},
	} {
		got, err := s.SigningKeys(ctx, c.retiredAfter)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%s: SigningKeys = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func testRefreshTokens(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	r1 := auth.RefreshToken{Hash: "h1", FamilyID: "f1", UserID: "u1", AMR: []string{"pwd", "otp"}, ExpiresAt: at(60), CreatedAt: at(0)}
	if err := s.CreateRefreshToken(ctx, r1); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.CreateRefreshToken(ctx, r1), fault.KindConflict)
	got, err := s.RefreshToken(ctx, "h1")
	if err != nil || !reflect.DeepEqual(got, r1) {
		t.Fatalf("RefreshToken = %+v, %v; want %+v", got, err, r1)
	}
	_, err = s.RefreshToken(ctx, "nope")
	wantKind(t, err, fault.KindNotFound)

	r2 := auth.RefreshToken{Hash: "h2", FamilyID: "f1", UserID: "u1", AMR: []string{"pwd"}, ExpiresAt: at(70), CreatedAt: at(1)}
	if err := s.RotateRefreshToken(ctx, "h1", at(1), r2); err != nil {
		t.Fatal(err)
	}
	// The second rotation of h1 loses and leaves its new token out.
	r3 := auth.RefreshToken{Hash: "h3", FamilyID: "f1", UserID: "u1", ExpiresAt: at(70), CreatedAt: at(1)}
	wantKind(t, s.RotateRefreshToken(ctx, "h1", at(1), r3), fault.KindConflict)
	_, err = s.RefreshToken(ctx, "h3")
	wantKind(t, err, fault.KindNotFound)
	if got, _ := s.RefreshToken(ctx, "h1"); !got.UsedAt.Equal(at(1)) {
		t.Fatalf("h1 used at %v, want %v", got.UsedAt, at(1))
	}

	other := auth.RefreshToken{Hash: "o1", FamilyID: "f2", UserID: "u1", ExpiresAt: at(60), CreatedAt: at(0)}
	if err := s.CreateRefreshToken(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeRefreshFamily(ctx, "f1", at(2)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hash    string
		revoked bool
	}{{"h1", true}, {"h2", true}, {"o1", false}} {
		got, err := s.RefreshToken(ctx, c.hash)
		if err != nil || got.RevokedAt.IsZero() == c.revoked {
			t.Fatalf("%s revoked at %v (%v); want revoked=%v", c.hash, got.RevokedAt, err, c.revoked)
		}
	}
	wantKind(t, s.RotateRefreshToken(ctx, "h2", at(3), r3), fault.KindConflict)
}

func testRefreshPurge(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	for i, exp := range []time.Time{at(10), at(20), at(30)} {
		h := string(rune('a' + i))
		if err := s.CreateRefreshToken(ctx, auth.RefreshToken{Hash: h, FamilyID: "f", UserID: "u1", ExpiresAt: exp, CreatedAt: at(0)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredRefreshTokens(ctx, at(25))
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want 2", n, err)
	}
	if _, err := s.RefreshToken(ctx, "c"); err != nil {
		t.Fatalf("unexpired token purged: %v", err)
	}
}

func testUserMFA(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	wantKind(t, s.PutUserMFA(ctx, auth.MFA{UserID: "nobody", Secret: []byte("x"), UpdatedAt: at(0)}), fault.KindNotFound)
	_, err := s.UserMFA(ctx, "u1")
	wantKind(t, err, fault.KindNotFound)
	wantKind(t, s.UseMFAStep(ctx, "u1", 1, true, at(0)), fault.KindConflict)

	m := auth.MFA{UserID: "u1", Secret: []byte{9, 8, 7}, UpdatedAt: at(0)}
	if err := s.PutUserMFA(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserMFA(ctx, "u1"); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("UserMFA = %+v, %v; want %+v", got, err, m)
	}
	for _, c := range []struct {
		name   string
		step   int64
		enable bool
		ok     bool
	}{
		{"a first step enables", 100, true, true},
		{"the same step again is a replay", 100, false, false},
		{"an earlier step is refused", 99, false, false},
		{"a later step is accepted", 101, false, true},
	} {
		err := s.UseMFAStep(ctx, "u1", c.step, c.enable, at(1))
		if (err == nil) != c.ok || (err != nil && fault.KindOf(err) != fault.KindConflict) {
			t.Fatalf("%s: UseMFAStep(%d) = %v", c.name, c.step, err)
		}
	}
	got, err := s.UserMFA(ctx, "u1")
	if err != nil || !got.Enabled || got.LastStep != 101 || !got.UpdatedAt.Equal(at(1)) {
		t.Fatalf("after steps: %+v, %v", got, err)
	}
	// Re-enrolling replaces the secret and resets the state.
	m2 := auth.MFA{UserID: "u1", Secret: []byte("new"), UpdatedAt: at(2)}
	if err := s.PutUserMFA(ctx, m2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserMFA(ctx, "u1"); err != nil || !reflect.DeepEqual(got, m2) {
		t.Fatalf("after re-enrol: %+v, %v; want %+v", got, err, m2)
	}
	if err := s.DeleteUserMFA(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteUserMFA(ctx, "u1"), fault.KindNotFound)
}

func testAPITokens(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkTenant(t, s, "beta")
	t1 := auth.APIToken{ID: "0000000000000001", TenantID: "acme", Name: "ci", Role: actor.RoleProUser, Scopes: []string{},
		SecretHash: "aa", CreatedBy: "user:u1", CreatedAt: at(0)}
	t2 := auth.APIToken{ID: "0000000000000002", TenantID: "acme", Name: "mcp", Role: actor.RoleUser, Scopes: []string{"pods:read", "offers:*"},
		SecretHash: "bb", CreatedBy: "user:u1", CreatedAt: at(1), ExpiresAt: at(100)}
	for _, tk := range []auth.APIToken{t1, t2} {
		if err := s.CreateAPIToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, s.CreateAPIToken(ctx, t1), fault.KindConflict)
	orphan := t1
	orphan.ID, orphan.TenantID = "0000000000000003", "nobody"
	wantKind(t, s.CreateAPIToken(ctx, orphan), fault.KindNotFound)

	if got, err := s.APIToken(ctx, t2.ID); err != nil || !reflect.DeepEqual(got, t2) {
		t.Fatalf("APIToken = %+v, %v; want %+v", got, err, t2)
	}
	_, err := s.APIToken(ctx, "nope")
	wantKind(t, err, fault.KindNotFound)
	list, err := s.APITokens(ctx, "acme")
	if err != nil || !reflect.DeepEqual(list, []auth.APIToken{t2, t1}) {
		t.Fatalf("APITokens(acme) = %+v, %v; want t2, t1", list, err)
	}
	if list, err := s.APITokens(ctx, "beta"); err != nil || len(list) != 0 {
		t.Fatalf("APITokens(beta) = %+v, %v; want none", list, err)
	}

	for _, c := range []struct {
		name      string
		at        time.Time
		notBefore time.Time
		want      time.Time
	}{
		{"a first use is recorded", at(5), at(4), at(5)},
		{"a use soon after is not", at(5).Add(30 * time.Second), at(5).Add(-30 * time.Second), at(5)},
		{"a use a minute later is", at(6), at(5), at(6)},
	} {
		if err := s.TouchAPIToken(ctx, t1.ID, c.at, c.notBefore); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.APIToken(ctx, t1.ID); !got.LastUsedAt.Equal(c.want) {
			t.Fatalf("%s: last used %v, want %v", c.name, got.LastUsedAt, c.want)
		}
	}

	if err := s.RevokeAPIToken(ctx, t1.ID, at(7)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, t1.ID, at(8)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIToken(ctx, t1.ID); !got.RevokedAt.Equal(at(7)) {
		t.Fatalf("revoked at %v, want the first revocation %v", got.RevokedAt, at(7))
	}
	wantKind(t, s.RevokeAPIToken(ctx, "nope", at(7)), fault.KindNotFound)
}

func testIdentityCascade(t *testing.T, s *store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	mkUser(t, s, "acme", "u1")
	if err := s.CreateRefreshToken(ctx, auth.RefreshToken{Hash: "h1", FamilyID: "f", UserID: "u1", ExpiresAt: at(60), CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserMFA(ctx, auth.MFA{UserID: "u1", Secret: []byte("x"), UpdatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	tk := auth.APIToken{ID: "0000000000000001", TenantID: "acme", Name: "ci", Role: actor.RoleUser, SecretHash: "aa",
		CreatedBy: "user:u1", CreatedAt: at(0)}
	if err := s.CreateAPIToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, "acme", rec("tenant.delete", "acme")); err != nil {
		t.Fatal(err)
	}
	_, err := s.RefreshToken(ctx, "h1")
	wantKind(t, err, fault.KindNotFound)
	_, err = s.UserMFA(ctx, "u1")
	wantKind(t, err, fault.KindNotFound)
	_, err = s.APIToken(ctx, tk.ID)
	wantKind(t, err, fault.KindNotFound)
}
