package auth_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
)

func TestLogin(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	// This test is about the work a login costs, so its user's hash has
	// the production cost.
	f.user = f.addUser(t, "ida@acme.test", "acme", actor.RoleProUser, realHash)
	took := map[string]time.Duration{}
	cases := []struct {
		name     string
		email    string
		password string
		wantErr  string
	}{
		{"the right password signs in", "Ida@Acme.test ", testPassword, ""},
		{"a wrong password is refused", "ida@acme.test", "wrong horse battery 9", "email or password is wrong"},
		{"an unknown email gets the same refusal", "nobody@acme.test", testPassword, "email or password is wrong"},
		{"a malformed email gets the same refusal", "not an email", testPassword, "email or password is wrong"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			tok, err := f.svc.Login(f.ctx, c.email, c.password, "")
			took[c.name] = time.Since(start)
			if c.wantErr != "" {
				wantFault(t, err, fault.KindUnauthenticated, c.wantErr)
				if err.Error() != c.wantErr {
					t.Fatalf("message %q says more than %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.ExpiresIn != int64(auth.DefaultAccessTTL/time.Second) {
				t.Fatalf("tokens = %+v", tok)
			}
			a, claims, err := f.svc.VerifyAccessToken(f.ctx, tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			want := actor.Actor{Kind: actor.KindUser, ID: f.user.ID, TenantID: "acme", Role: actor.RoleProUser, Name: "ida@acme.test"}
			if a != want || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.ID == "" {
				t.Fatalf("actor = %+v, claims = %+v; want %+v with amr [pwd]", a, claims, want)
			}
		})
	}
	t.Run("an unknown email costs as much work as a wrong password", func(t *testing.T) {
		// Both run one argon2id verification; allow wide noise on shared
		// CPUs. The first unknown email also hashes the stand-in once, so
		// compare the second.
		wrong, unknown := took[cases[1].name], took[cases[3].name]
		if unknown < wrong/4 || unknown > wrong*4 {
			t.Fatalf("unknown email took %v, wrong password %v", unknown, wrong)
		}
	})
	if n := len(records(t, f, "auth.login_failed")); n != 3 {
		t.Fatalf("login_failed records = %d, want 3", n)
	}
}

func TestLoginWithMFA(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{})
	secret, url, err := f.svc.EnrollTOTP(f.ctx, f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || url == "" {
		t.Fatalf("enrol = %q, %q", secret, url)
	}
	// Pending enrolment does not yet guard the login, and a wrong code
	// does not confirm it.
	wantFault(t, f.svc.ConfirmTOTP(f.ctx, f.user.ID, "000000"), fault.KindInvalid, "wrong or was already used")
	if err := f.svc.ConfirmTOTP(f.ctx, f.user.ID, f.code(t, secret, 0)); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.EnrollTOTP(f.ctx, f.user.ID)
	wantFault(t, err, fault.KindConflict, "already enabled")
	f.clock.Advance(30 * time.Second) // the confirming code's step is spent

	steps := []struct {
		name    string
		code    func() string
		wantErr string
	}{
		{"a login without a code is asked for one", func() string { return "" }, "mfa code required"},
		{"a wrong code is refused", func() string { return "123456" }, "mfa code is wrong or already used"},
		{"the current code signs in", func() string { return f.code(t, secret, 0) }, ""},
		{"the same code again is refused", func() string { return f.code(t, secret, 0) }, "mfa code is wrong or already used"},
		{"the previous step's code is refused once a later one was used", func() string { return f.code(t, secret, -30*time.Second) }, "mfa code is wrong or already used"},
		{"the next step's code is accepted (clock skew)", func() string { return f.code(t, secret, 30*time.Second) }, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			tok, err := f.svc.Login(f.ctx, f.user.Email, testPassword, s.code())
			if s.wantErr != "" {
				wantFault(t, err, fault.KindUnauthenticated, s.wantErr)
				if s.wantErr == "mfa code required" && !errors.Is(err, auth.ErrMFARequired) {
					t.Fatalf("error %v does not match ErrMFARequired", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, claims, err := f.svc.VerifyAccessToken(f.ctx, tok.AccessToken)
			if err != nil || !slices.Equal(claims.AMR, []string{"pwd", "otp"}) {
				t.Fatalf("claims = %+v, %v; want amr [pwd otp]", claims, err)
			}
		})
	}
	t.Run("disabling needs a fresh code and drops the requirement", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		wantFault(t, f.svc.DisableTOTP(f.ctx, f.user.ID, "999999"), fault.KindInvalid, "code")
		if err := f.svc.DisableTOTP(f.ctx, f.user.ID, f.code(t, secret, 0)); err != nil {
			t.Fatal(err)
		}
		wantFault(t, f.svc.DisableTOTP(f.ctx, f.user.ID, f.code(t, secret, 0)), fault.KindConflict, "not enrolled")
		f.login(t, "")
	})
}

// TestSessionFlow runs login, refresh and reuse detection on every backend.
func TestSessionFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		f := newFixture(t, b.Name, auth.Options{})
		first := f.login(t, "")
		f.clock.Advance(time.Minute)

		second, err := f.svc.Refresh(f.ctx, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("refresh returned the same tokens")
		}
		if a, _, err := f.svc.VerifyAccessToken(f.ctx, second.AccessToken); err != nil || a.ID != f.user.ID {
			t.Fatalf("refreshed access token: %+v, %v", a, err)
		}
		third, err := f.svc.Refresh(f.ctx, second.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}

		// The first token comes back: someone kept a copy.
		_, err = f.svc.Refresh(f.ctx, first.RefreshToken)
		wantFault(t, err, fault.KindUnauthenticated, "already used")
		if !errors.Is(err, auth.ErrRefreshReused) {
			t.Fatalf("reuse error %v does not match ErrRefreshReused", err)
		}
		// ... and the whole family is gone, the newest token included.
		_, err = f.svc.Refresh(f.ctx, third.RefreshToken)
		wantFault(t, err, fault.KindUnauthenticated, "revoked")
		if n := len(records(t, f, "auth.refresh_reuse")); n != 1 {
			t.Fatalf("refresh_reuse records = %d, want 1", n)
		}
		if n := len(records(t, f, "auth.refresh")); n != 2 {
			t.Fatalf("refresh records = %d, want 2", n)
		}
	})
}

func TestRefresh(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{RefreshTTL: func() time.Duration { return time.Hour }})
	tok := f.login(t, "")
	other := f.login(t, "")
	cases := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"garbage is not a refresh token", func() error { _, err := f.svc.Refresh(f.ctx, "garbage"); return err }, "not valid"},
		{"an unknown token is refused", func() error {
			_, err := f.svc.Refresh(f.ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			return err
		}, "not valid"},
		{"logout revokes the session", func() error { return f.svc.Logout(f.ctx, tok.RefreshToken) }, ""},
		{"a logged-out token no longer refreshes", func() error { _, err := f.svc.Refresh(f.ctx, tok.RefreshToken); return err }, "revoked"},
		{"another session of the same user is untouched", func() error {
			var err error
			other, err = f.svc.Refresh(f.ctx, other.RefreshToken)
			return err
		}, ""},
		{"a token past its lifetime has expired", func() error {
			f.clock.Advance(time.Hour)
			_, err := f.svc.Refresh(f.ctx, other.RefreshToken)
			return err
		}, "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantFault(t, err, fault.KindUnauthenticated, c.wantErr)
		})
	}
	f.clock.Advance(time.Second)
	if n, err := f.svc.PurgeExpiredRefreshTokens(f.ctx); err != nil || n != 3 {
		t.Fatalf("purged %d, %v; want all 3 tokens, now expired", n, err)
	}
}

func TestRepeatedLoginFailuresLockTheAccountForAWhile(t *testing.T) {
	f := newFixture(t, "sqlite", auth.Options{LoginLimit: func() (int, time.Duration) { return 3, 10 * time.Minute }})
	u := f.addUser(t, "eve@acme.test", "acme", actor.RoleUser, cheapHash)
	for i := 0; i < 3; i++ {
		if _, err := f.svc.Login(f.ctx, "eve@acme.test", "wrong horse battery 9", ""); fault.KindOf(err) != fault.KindUnauthenticated {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	t.Run("the right password is refused while locked", func(t *testing.T) {
		_, err := f.svc.Login(f.ctx, "eve@acme.test", testPassword, "")
		wantFault(t, err, fault.KindRateLimited, "too many failed sign-ins; try again in 10m0s")
	})
	t.Run("another account is not locked", func(t *testing.T) {
		f.addUser(t, "bob@acme.test", "acme", actor.RoleUser, cheapHash)
		if _, err := f.svc.Login(f.ctx, "bob@acme.test", testPassword, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the lock lifts when the window passes, and success clears the count", func(t *testing.T) {
		f.clock.Advance(11 * time.Minute)
		if _, err := f.svc.Login(f.ctx, "eve@acme.test", testPassword, ""); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			_, _ = f.svc.Login(f.ctx, "eve@acme.test", "wrong horse battery 9", "")
		}
		if _, err := f.svc.Login(f.ctx, "eve@acme.test", testPassword, ""); err != nil {
			t.Fatalf("two failures after a success must not lock: %v", err)
		}
	})
	t.Run("locked attempts are audited", func(t *testing.T) {
		found := false
		for _, r := range records(t, f, "auth.login_failed") {
			if strings.Contains(string(r.Input), `"locked"`) {
				found = true
			}
		}
		if !found {
			t.Fatal("no audit record of the refused attempt")
		}
	})
	_ = u
}
