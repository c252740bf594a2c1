package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/store"
)

// testBrowserSessions: a browser session is read back whole until it
// expires; a renewal lands only on the access token it was read with; a
// deleted session is gone.
func testBrowserSessions(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	b := auth.BrowserSession{ID: "h1", UserID: "u1", TenantID: "acme", AccessToken: "at-1", AccessExpires: now.Add(15 * time.Minute),
		RefreshSealed: []byte{0, 1, 2, 255}, CSRF: "c1", CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	if err := s.CreateBrowserSession(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.BrowserSession(ctx, "h1", now)
	if err != nil || got.UserID != "u1" || got.AccessToken != "at-1" || string(got.RefreshSealed) != string(b.RefreshSealed) ||
		got.CSRF != "c1" || !got.AccessExpires.Equal(b.AccessExpires) {
		t.Fatalf("read: %+v %v", got, err)
	}
	if _, err := s.BrowserSession(ctx, "h1", b.ExpiresAt); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("an expired session: %v", err)
	}
	renewed := got
	renewed.AccessToken, renewed.RefreshSealed = "at-2", []byte{9}
	if err := s.RenewBrowserSession(ctx, renewed, "at-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewBrowserSession(ctx, renewed, "at-1"); fault.KindOf(err) != fault.KindConflict {
		t.Fatalf("a second renewal of the same read: %v", err)
	}
	if got, _ := s.BrowserSession(ctx, "h1", now); got.AccessToken != "at-2" || string(got.RefreshSealed) != "\x09" {
		t.Fatalf("renewed: %+v", got)
	}
	if err := s.DeleteBrowserSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BrowserSession(ctx, "h1", now); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("a deleted session: %v", err)
	}
}
