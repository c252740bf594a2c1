package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpubroker/pod/actor"
)

// Callers the fakes know, by bearer token.
var callers = map[string]actor.Actor{
	"ann":   {Kind: actor.KindUser, ID: "ann", TenantID: "t1", Role: actor.RoleUser},
	"bob":   {Kind: actor.KindUser, ID: "bob", TenantID: "t1", Role: actor.RoleUser},
	"admin": {Kind: actor.KindUser, ID: "adm", TenantID: "t1", Role: actor.RolePodAdmin},
	"eve":   {Kind: actor.KindUser, ID: "eve", TenantID: "t2", Role: actor.RolePodAdmin},
}

type fakeBearer struct{}

func (fakeBearer) Authenticate(_ context.Context, bearer string) (actor.Actor, error) {
	if a, ok := callers[bearer]; ok {
		return a, nil
	}
	return actor.Actor{}, errors.New("unknown token")
}

// fakeSession takes the cookie session=<caller>.
type fakeSession struct{}

func (fakeSession) Authenticate(r *http.Request) (actor.Actor, error) {
	c, err := r.Cookie("session")
	if err != nil {
		return actor.Actor{}, ErrNoSession
	}
	if a, ok := callers[c.Value]; ok {
		return a, nil
	}
	return actor.Actor{}, errors.New("unknown session")
}

// fakeAccess: tenant t1 has ann's pod p1 and bob's pod p2.
type fakeAccess struct{}

func (fakeAccess) PodOwner(_ context.Context, tenantID, podID string) (string, error) {
	owners := map[string]string{"t1/p1": "ann", "t1/p2": "bob"}
	if o, ok := owners[tenantID+"/"+podID]; ok {
		return o, nil
	}
	return "", errors.New("pod not found")
}

func (fakeAccess) PriceFeed(context.Context, string) (string, error) { return "sandbox", nil }

// serve starts a hub on loopback; both stop when the test ends.
func serve(t testing.TB, opt Options) (*Hub, string) {
	t.Helper()
	opt.Access, opt.Bearer, opt.Session = fakeAccess{}, fakeBearer{}, fakeSession{}
	if opt.Origins == nil {
		opt.Origins = []string{"https://app.example.com"}
	}
	h := NewHub(opt)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func dial(t testing.TB, url, token string) *client {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return dialHeader(t, url, h)
}

func dialHeader(t testing.TB, url string, h http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &client{t: t, ws: ws}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) subscribe(channel string, after uint64) {
	c.t.Helper()
	m := map[string]any{"type": "subscribe", "channel": channel}
	if after > 0 {
		m["after"] = after
	}
	c.send(m)
}

// next reads one frame, or fails the test.
func (c *client) next() frame {
	c.t.Helper()
	f, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) read(within time.Duration) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("decode %s: %w", b, err)
	}
	return f, nil
}

// until reads frames until one of type typ.
func (c *client) until(typ string) frame {
	c.t.Helper()
	for {
		if f := c.next(); f.Type == typ {
			return f
		}
	}
}

// closed reads until the server closes, and answers its code and reason.
func (c *client) closed() (websocket.StatusCode, string) {
	c.t.Helper()
	for {
		_, err := c.read(5 * time.Second)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		c.t.Fatalf("want a close frame, got %v", err)
	}
}

func publish(t testing.TB, h *Hub, key string, n int) {
	t.Helper()
	for i := range n {
		if err := h.Publish(context.Background(), Message{Channel: key, Event: "pod.state_changed",
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResumeAfterReconnect(t *testing.T) {
	h, url := serve(t, Options{Replay: 16})
	c := dial(t, url, "ann")
	c.subscribe("pod:p1", 0)
	c.until(typeSubscribed)
	publish(t, h, PodKey("p1"), 5)
	var last uint64
	for range 5 {
		last = c.until(typeEvent).ID
	}
	_ = c.ws.Close(websocket.StatusNormalClosure, "")

	t.Run("events within the window are replayed in order, none lost", func(t *testing.T) {
		publish(t, h, PodKey("p1"), 10) // while away
		c := dial(t, url, "ann")
		c.subscribe("pod:p1", last)
		for want := last + 1; want <= last+10; want++ {
			if f := c.next(); f.Type != typeEvent || f.ID != want || f.Channel != "pod:p1" {
				t.Fatalf("frame %+v; want event %d on pod:p1", f, want)
			}
		}
		if f := c.next(); f.Type != typeSubscribed || *f.Last != last+10 {
			t.Fatalf("frame %+v; want subscribed at %d", f, last+10)
		}
		publish(t, h, PodKey("p1"), 1)
		if f := c.next(); f.ID != last+11 {
			t.Fatalf("live frame %+v; want id %d", f, last+11)
		}
		last += 11
	})
	t.Run("a client up to date gets nothing again", func(t *testing.T) {
		c := dial(t, url, "ann")
		c.subscribe("pod:p1", last)
		if f := c.next(); f.Type != typeSubscribed {
			t.Fatalf("frame %+v; want subscribed", f)
		}
	})
	t.Run("beyond the window the client is told to refetch", func(t *testing.T) {
		publish(t, h, PodKey("p1"), 20)
		c := dial(t, url, "ann")
		c.subscribe("pod:p1", last)
		f := c.next()
		if f.Type != typeRefetch || f.Channel != "pod:p1" || *f.Last != last+20 {
			t.Fatalf("frame %+v; want refetch at %d", f, last+20)
		}
		publish(t, h, PodKey("p1"), 1) // still subscribed
		if f := c.next(); f.Type != typeEvent || f.ID != last+21 {
			t.Fatalf("frame %+v; want event %d", f, last+21)
		}
	})
}

func TestSlowClientIsDroppedWithoutDelayingOthers(t *testing.T) {
	h, url := serve(t, Options{Queue: 8})
	slow := dial(t, url, "ann")
	slow.subscribe("prices", 0)
	slow.until(typeSubscribed)
	fast := dial(t, url, "bob")
	fast.subscribe("prices", 0)
	fast.until(typeSubscribed)

	// Enough bytes to fill the loopback socket buffers of a client that
	// never reads. Events go out in small batches, each received by the
	// fast client before the next, as a live feed would be. Had Publish
	// waited for the slow socket, the fast client would stall with it.
	const n, batch = 600, 4
	data := json.RawMessage(`{"pad":"` + strings.Repeat("x", 16<<10) + `"}`)
	for i := 0; i < n; i += batch {
		for range batch {
			if err := h.Publish(context.Background(), Message{Channel: PricesKey("sandbox"), Event: "market.prices_updated", Data: data}); err != nil {
				t.Fatal(err)
			}
		}
		for j := range batch {
			f, err := fast.read(5 * time.Second)
			if err != nil {
				t.Fatalf("fast client, event %d: %v", i+j+1, err)
			}
			if want := uint64(i + j + 1); f.ID != want {
				t.Fatalf("fast client got id %d; want %d", f.ID, want)
			}
		}
	}
	code, reason := slow.closed()
	if code != websocket.StatusTryAgainLater || !strings.Contains(reason, "too slow") {
		t.Fatalf("slow client closed with %d %q; want 1013 too slow", code, reason)
	}
}

func TestRefusals(t *testing.T) {
	_, url := serve(t, Options{})
	cookie := func(origin string) http.Header {
		h := http.Header{"Cookie": {"session=ann"}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return h
	}
	for _, tc := range []struct {
		name    string
		header  http.Header
		channel string
		want    string
	}{
		{"no credentials are refused", http.Header{}, "", "authentication required"},
		{"a bad bearer token is refused", http.Header{"Authorization": {"Bearer nope"}}, "", "invalid credentials"},
		{"a session from a foreign Origin is refused", cookie("https://evil.example"), "", "origin not allowed"},
		{"a session without Origin is refused", cookie(""), "", "origin not allowed"},
		{"another user's pod is refused", http.Header{"Authorization": {"Bearer bob"}}, "pod:p1", "not allowed: pod:p1"},
		{"another tenant's pod is refused, even to its admin", http.Header{"Authorization": {"Bearer eve"}}, "pod:p1", "not allowed: pod:p1"},
		{"the agent channel is refused to a user", http.Header{"Authorization": {"Bearer ann"}}, "agent", "POD Admins"},
		{"an unknown channel is refused", http.Header{"Authorization": {"Bearer ann"}}, "secrets", "unknown channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialHeader(t, url, tc.header)
			if tc.channel != "" {
				c.subscribe(tc.channel, 0)
			}
			code, reason := c.closed()
			if code != websocket.StatusPolicyViolation || !strings.Contains(reason, tc.want) {
				t.Fatalf("closed with %d %q; want 1008 %q", code, reason, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		header  http.Header
		channel string
	}{
		{"the owner follows their pod", http.Header{"Authorization": {"Bearer ann"}}, "pod:p1"},
		{"a POD Admin of the tenant follows any of its pods", http.Header{"Authorization": {"Bearer admin"}}, "pod:p1"},
		{"a POD Admin follows the agent", http.Header{"Authorization": {"Bearer admin"}}, "agent"},
		{"a session from the platform's origin is let in", cookie("https://app.example.com"), "notifications"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialHeader(t, url, tc.header)
			c.subscribe(tc.channel, 0)
			if f := c.next(); f.Type != typeSubscribed || f.Channel != tc.channel {
				t.Fatalf("frame %+v; want subscribed to %s", f, tc.channel)
			}
		})
	}
}

func TestBadFramesCloseTheConnectionAndTheHubGoesOn(t *testing.T) {
	h, url := serve(t, Options{ReadLimit: 1024})
	other := dial(t, url, "bob")
	other.subscribe("prices", 0)
	other.until(typeSubscribed)
	for _, tc := range []struct {
		name  string
		typ   websocket.MessageType
		frame []byte
		code  websocket.StatusCode
	}{
		{"an oversized frame", websocket.MessageText, []byte(`{"type":"subscribe","channel":"` + strings.Repeat("x", 4096) + `"}`), websocket.StatusMessageTooBig},
		{"malformed JSON", websocket.MessageText, []byte(`{"type":`), websocket.StatusInvalidFramePayloadData},
		{"an unknown message type", websocket.MessageText, []byte(`{"type":"shout"}`), websocket.StatusInvalidFramePayloadData},
		{"a binary frame", websocket.MessageBinary, []byte{1, 2, 3}, websocket.StatusUnsupportedData},
	} {
		t.Run(tc.name+" closes the connection", func(t *testing.T) {
			c := dial(t, url, "ann")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.ws.Write(ctx, tc.typ, tc.frame); err != nil {
				t.Fatal(err)
			}
			if code, reason := c.closed(); code != tc.code {
				t.Fatalf("closed with %d %q; want %d", code, reason, tc.code)
			}
		})
	}
	publish(t, h, PricesKey("sandbox"), 1)
	if f := other.next(); f.Type != typeEvent {
		t.Fatalf("the other client got %+v; want an event", f)
	}
}

func TestNotificationsReachOnlyTheirAudience(t *testing.T) {
	h, url := serve(t, Options{})
	ann, bob, adm := dial(t, url, "ann"), dial(t, url, "bob"), dial(t, url, "admin")
	for _, c := range []*client{ann, bob, adm} {
		c.subscribe("notifications", 0)
		c.until(typeSubscribed)
	}
	ctx := context.Background()
	for _, m := range []Message{
		{Channel: NotificationsKey("t1"), Event: "pod.state_changed", Data: json.RawMessage(`{"to":"ann"}`), To: Audience{User: "ann"}},
		{Channel: NotificationsKey("t1"), Event: "agent.admin_notified", Data: json.RawMessage(`{"to":"admins"}`), To: Audience{Role: actor.RolePodAdmin}},
		{Channel: NotificationsKey("t2"), Event: "agent.admin_notified", Data: json.RawMessage(`{"to":"t2"}`)},
		{Channel: NotificationsKey("t1"), Event: "platform.notice", Data: json.RawMessage(`{"to":"all"}`)},
	} {
		if err := h.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		who  *client
		name string
		want []string
	}{{ann, "ann", []string{`{"to":"ann"}`, `{"to":"all"}`}}, {bob, "bob", []string{`{"to":"all"}`}}, {adm, "admin", []string{`{"to":"admins"}`, `{"to":"all"}`}}} {
		for _, w := range tc.want {
			if f := tc.who.next(); string(f.Data) != w {
				t.Errorf("%s got %s; want %s", tc.name, f.Data, w)
			}
		}
	}
}

func TestPingsKeepAnIdleConnectionOpen(t *testing.T) {
	h, url := serve(t, Options{Ping: 20 * time.Millisecond})
	c := dial(t, url, "ann")
	// The client answers pings only while it reads.
	readCtx := c.ws.CloseRead(context.Background())
	time.Sleep(150 * time.Millisecond)
	if readCtx.Err() != nil {
		t.Fatal("the connection closed while idle")
	}
	if n := h.Stats().Connections; n != 1 {
		t.Fatalf("hub holds %d connections; want 1", n)
	}
}

func TestCloseDisconnectsEveryClient(t *testing.T) {
	h := NewHub(Options{Bearer: fakeBearer{}, Access: fakeAccess{}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var cs []*client
	for range 3 {
		c := dial(t, url, "ann")
		c.subscribe("prices", 0)
		c.until(typeSubscribed)
		cs = append(cs, c)
	}
	var wg sync.WaitGroup
	wg.Go(h.Close)
	for _, c := range cs {
		if code, _ := c.closed(); code != websocket.StatusGoingAway {
			t.Errorf("closed with %d; want 1001", code)
		}
	}
	wg.Wait()
	if n := h.Stats().Connections; n != 0 {
		t.Fatalf("%d connections left after Close", n)
	}
}
