package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
)

// Event is one server-sent event: its id, its type and its JSON data.
type Event struct {
	ID   int64
	Type string
	Data []byte
}

// EventSource follows a tenant's events until cancel is called, first
// the recent ones numbered after after; it closes the channel when the
// follower fell behind (the client reconnects).
type EventSource interface {
	Follow(tenantID string, after int64) (events <-chan Event, cancel func())
}

// streamPing is how often an idle stream sends a comment, so proxies keep
// it open and a client that went away is noticed.
const streamPing = 15 * time.Second

// Stream serves a tenant's events to its POD Admins as server-sent
// events (text/event-stream) until the client goes away; the caller is
// the context's actor.
func Stream(src EventSource, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, _ := actor.From(r.Context())
		if a.Role != actor.RolePodAdmin {
			writeProblem(w, r, log, fault.Forbidden("the agent's stream is for POD Admins"))
			return
		}
		// A reconnecting EventSource names the last event it saw.
		after, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
		events, cancel := src.Follow(a.TenantID, after)
		defer cancel()
		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if _, err := fmt.Fprint(w, ": following the agent\n\n"); err != nil || rc.Flush() != nil {
			return
		}
		ping := time.NewTicker(streamPing)
		defer ping.Stop()
		for {
			var err error
			select {
			case <-r.Context().Done():
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, e.Data)
			case <-ping.C:
				_, err = fmt.Fprint(w, ": ping\n\n")
			}
			if err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
