package events

import (
	"strings"
	"testing"
	"time"
)

func TestNewNamesValidatesAndOrdersEvents(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
	cases := []struct {
		name    string
		typ     Type
		key     string
		payload any
		wantErr string
	}{
		{"a domain.event type with a key is accepted", "pod.deploy_requested", "pod-1", map[string]int{"gpus": 8}, ""},
		{"a type without its domain is refused", "deployed", "pod-1", nil, "want domain.event"},
		{"an upper-case type is refused", "Pod.Deployed", "pod-1", nil, "want domain.event"},
		{"an event without a key is refused", "pod.deployed", "", nil, "a key is required"},
		{"a payload that cannot be encoded is refused", "pod.deployed", "pod-1", func() {}, "encode payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(c.typ, c.key, "acme", c.payload, now)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != c.typ || e.Key != c.key || e.TenantID != "acme" || string(e.Payload) != `{"gpus":8}` ||
				!e.CreatedAt.Equal(now.Truncate(time.Microsecond)) || len(e.ID) != 36 {
				t.Fatalf("event %+v", e)
			}
		})
	}
	a, _ := New("pod.deployed", "k", "", nil, now)
	b, _ := New("pod.deployed", "k", "", nil, now)
	if a.ID >= b.ID {
		t.Fatalf("ids %s then %s: want them in creation order", a.ID, b.ID)
	}
}
