package realtime

import (
	"context"
	"testing"
	"time"
)

// TestTheClientsPingsAreAnsweredLongAfterTheLastWrite: a frame's write
// deadline is the socket's, and it is cleared after the write, so the
// pong the reader sends on the same socket later is not refused by a
// deadline long past.
func TestTheClientsPingsAreAnsweredLongAfterTheLastWrite(t *testing.T) {
	h, url := serve(t, Options{WriteTimeout: 20 * time.Millisecond})
	c := dial(t, url, "ann")
	c.subscribe("prices", 0)
	c.until(typeSubscribed)
	publish(t, h, PricesKey("sandbox"), 1)
	if f := c.until(typeEvent); f.ID != 1 {
		t.Fatalf("got event %d; want 1", f.ID)
	}
	time.Sleep(100 * time.Millisecond) // past the write's deadline
	// The client reads only for the pong from here.
	c.ws.CloseRead(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		t.Fatalf("ping after the deadline: %v", err)
	}
	if n := h.Stats().Connections; n != 1 {
		t.Fatalf("hub holds %d connections; want 1", n)
	}
}
