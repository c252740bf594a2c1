package agent

import "testing"

// TestAFollowerCatchesUpOnTheKeptEvents: a subscriber first gets the
// tenant's kept events numbered after the one it names (all for 0), then
// the new ones; only the last HubKeeps are kept, and another tenant's
// are not its.
func TestAFollowerCatchesUpOnTheKeptEvents(t *testing.T) {
	h := NewHub(8)
	for range HubKeeps + 6 {
		h.Publish("acme", StreamEvent{Kind: "step"})
	}
	h.Publish("beta", StreamEvent{Kind: "step"})
	drain := func(ch <-chan StreamEvent) []int64 {
		var ids []int64
		for {
			select {
			case e := <-ch:
				ids = append(ids, e.ID)
			default:
				return ids
			}
		}
	}
	all, stop := h.Subscribe("acme", 0)
	defer stop()
	if ids := drain(all); len(ids) != HubKeeps || ids[0] != 7 || ids[len(ids)-1] != HubKeeps+6 {
		t.Fatalf("a new follower caught up on %d events, %v…", len(ids), ids[:min(3, len(ids))])
	}
	back, stopBack := h.Subscribe("acme", HubKeeps+4)
	defer stopBack()
	if ids := drain(back); len(ids) != 2 || ids[0] != HubKeeps+5 {
		t.Fatalf("a follower back after %d got %v", HubKeeps+4, ids)
	}
	h.Publish("acme", StreamEvent{Kind: "end"})
	if ids := drain(all); len(ids) != 1 || ids[0] != HubKeeps+7 {
		t.Fatalf("the next event reached the follower as %v", ids)
	}
	if ids := drain(back); len(ids) != 1 {
		t.Fatalf("the next event reached the returning follower as %v", ids)
	}
}
