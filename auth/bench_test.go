package auth_test

import (
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
)

// BenchmarkVerifyAccessToken measures a built-in access token check: the
// RS256 signature and claims, with the key set cached (no database).
func BenchmarkVerifyAccessToken(b *testing.B) {
	f := newFixture(b, "sqlite", auth.Options{})
	tok := f.login(b, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.svc.VerifyAccessToken(f.ctx, tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAPIToken measures an API token check: one primary-key
// read on SQLite and a SHA-256.
func BenchmarkVerifyAPIToken(b *testing.B) {
	f := newFixture(b, "sqlite", auth.Options{})
	_, plain, err := f.svc.CreateAPIToken(f.ctx, actor.System("bench"), "acme", actor.RoleUser, "bench", nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.VerifyAPIToken(f.ctx, plain); err != nil {
			b.Fatal(err)
		}
	}
}
