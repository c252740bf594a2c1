package slack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack/slacktest"
)

// fakeSlack is a slacktest server answering the Web API methods the face
// calls, recording each call.
type fakeSlack struct {
	srv  *slacktest.Server
	down atomic.Bool

	mu    sync.Mutex
	calls map[string][]url.Values
	views []json.RawMessage
	// emails maps an address to the Slack user users.lookupByEmail finds.
	emails map[string]string
	ts     int
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{calls: map[string][]url.Values{}, emails: map[string]string{}}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.handle("chat.postMessage", func(v url.Values) any {
			f.ts++
			return map[string]any{"ok": true, "channel": "C0AGENT", "ts": fmt.Sprintf("1700000000.%06d", f.ts)}
		}))
		c.Handle("/chat.update", f.handle("chat.update", func(v url.Values) any {
			return map[string]any{"ok": true, "channel": v.Get("channel"), "ts": v.Get("ts"), "text": v.Get("text")}
		}))
		c.Handle("/chat.postEphemeral", f.handle("chat.postEphemeral", func(url.Values) any {
			return map[string]any{"ok": true, "message_ts": "1700000099.000001"}
		}))
		c.Handle("/users.lookupByEmail", f.handle("users.lookupByEmail", func(v url.Values) any {
			id, ok := f.emails[v.Get("email")]
			if !ok {
				return map[string]any{"ok": false, "error": "users_not_found"}
			}
			return map[string]any{"ok": true, "user": map[string]any{"id": id, "name": "someone", "profile": map[string]any{"email": v.Get("email")}}}
		}))
		c.Handle("/views.open", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			f.mu.Lock()
			f.views = append(f.views, body)
			f.mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "view": map[string]any{"id": "V0OVERRIDE"}})
		})
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

// handle records a form-encoded call of method and answers it, or 503
// while the fake is down.
func (f *fakeSlack) handle(method string, answer func(url.Values) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = r.ParseForm()
		f.mu.Lock()
		f.calls[method] = append(f.calls[method], r.PostForm)
		out := answer(r.PostForm)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

// called answers the calls of method so far.
func (f *fakeSlack) called(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls[method]...)
}

func (f *fakeSlack) opened() []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]json.RawMessage(nil), f.views...)
}

// URL is the API URL to give the face.
func (f *fakeSlack) URL() string { return f.srv.GetAPIURL() }
