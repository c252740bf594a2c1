package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/memory"
	"github.com/gpubroker/pod/store"
)

// testAgentMemory: memos are found by their words (a word or its start,
// case aside), the ones holding most words first and then the newest;
// another tenant's are never found nor forgotten.
func testAgentMemory(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, m := range []memory.Memo{
		{ID: "m1", TenantID: "acme", Text: "Lambda H100s were cheapest in March"},
		{ID: "m2", TenantID: "acme", Text: "The admin prefers spot GPUs at night"},
		{ID: "m3", TenantID: "acme", Text: "Never use provider x_y for H100: 50% failures"},
		{ID: "m4", TenantID: "beta", Text: "Lambda H100s for beta"},
	} {
		m.CreatedBy, m.CreatedAt = "ana", at.Add(time.Duration(i)*time.Minute)
		if err := s.SaveMemory(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(words string) string {
		t.Helper()
		got, err := s.FindMemories(ctx, "acme", memory.Words(words), 10)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, m := range got {
			out += m.ID + " "
		}
		return out
	}
	for words, want := range map[string]string{
		"lambda h100":  "m1 m3 ", // m1 holds both; m3 one
		"gpu":          "m2 ",    // the start of a word
		"h100":         "m3 m1 ", // newest first among equals
		"50%":          "m3 ",    // words are letters and digits: "50"
		"kubernetes":   "",
		"LAMBDA march": "m1 ",
	} {
		if got := ids(words); got != want {
			t.Errorf("%q found %q; want %q", words, got, want)
		}
	}
	if ok, err := s.ForgetMemory(ctx, "acme", "m4"); err != nil || ok {
		t.Fatalf("forgot another tenant's memo: %v %v", ok, err)
	}
	if ok, err := s.ForgetMemory(ctx, "acme", "m1"); err != nil || !ok {
		t.Fatalf("forget: %v %v", ok, err)
	}
	if got := ids("lambda"); got != "" {
		t.Fatalf("a forgotten memo was found: %q", got)
	}
}
