package realtime

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gpubroker/pod/redistest"
)

// instance is one "instance": a hub on the shared Redis, served on
// loopback.
func instance(t *testing.T, prefix string) (*Hub, string) {
	t.Helper()
	rc, _ := redistest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bus, err := NewRedisBus(ctx, rc, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, url := serve(t, Options{Bus: bus, Replay: 8})
	t.Cleanup(func() { _ = bus.Close() }) // runs after the hub's Close
	return h, url
}

func TestTwoInstancesOnOneRedisBothDeliver(t *testing.T) {
	_, prefix := redistest.New(t)
	a, urlA := instance(t, prefix)
	_, urlB := instance(t, prefix)
	onA, onB := dial(t, urlA, "ann"), dial(t, urlB, "admin")
	for _, c := range []*client{onA, onB} {
		c.subscribe("pod:p1", 0)
		c.until(typeSubscribed)
	}
	if err := a.Publish(context.Background(), Message{Channel: PodKey("p1"), Event: "pod.state_changed",
		Data: json.RawMessage(`{"state":"running"}`)}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client{"A": onA, "B": onB} {
		f := c.until(typeEvent)
		if f.ID != 1 || f.Channel != "pod:p1" || string(f.Data) != `{"state":"running"}` {
			t.Errorf("instance %s delivered %+v; want event 1 on pod:p1", name, f)
		}
	}

	t.Run("a client resumes on the other instance with the id it saw", func(t *testing.T) {
		publish(t, a, PodKey("p1"), 3) // ids 2..4
		for range 3 {
			onB.until(typeEvent)
		}
		_ = onA.ws.CloseNow()
		c := dial(t, urlB, "ann")
		c.subscribe("pod:p1", 1)
		for want := uint64(2); want <= 4; want++ {
			if f := c.next(); f.Type != typeEvent || f.ID != want {
				t.Fatalf("frame %+v; want event %d", f, want)
			}
		}
		if f := c.next(); f.Type != typeSubscribed || *f.Last != 4 {
			t.Fatalf("frame %+v; want subscribed at 4", f)
		}
	})
	t.Run("an instance that started later knows the client missed nothing", func(t *testing.T) {
		_, urlC := instance(t, prefix)
		c := dial(t, urlC, "ann")
		c.subscribe("pod:p1", 4)
		if f := c.next(); f.Type != typeSubscribed || *f.Last != 4 {
			t.Fatalf("frame %+v; want subscribed at 4", f)
		}
		c2 := dial(t, urlC, "ann")
		c2.subscribe("pod:p1", 2)
		if f := c2.next(); f.Type != typeRefetch {
			t.Fatalf("frame %+v; want refetch (the instance holds nothing of 3..4)", f)
		}
	})
}
