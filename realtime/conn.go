package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gpubroker/pod/actor"
)

// BearerAuthenticator turns a bearer credential (access token or API
// token) into the actor calling.
type BearerAuthenticator interface {
	Authenticate(ctx context.Context, bearer string) (actor.Actor, error)
}

// SessionAuthenticator turns a browser's session (its cookie) into the
// actor calling; ErrNoSession when the request carries none.
type SessionAuthenticator interface {
	Authenticate(r *http.Request) (actor.Actor, error)
}

// ErrNoSession is what a SessionAuthenticator answers for a request
// without a session.
var ErrNoSession = errors.New("no session")

// refusal is why a connection is closed, with its close code.
type refusal struct {
	code   websocket.StatusCode
	reason string
}

func (r refusal) Error() string { return fmt.Sprintf("%d %s", r.code, r.reason) }

func refuse(code websocket.StatusCode, format string, args ...any) refusal {
	reason := fmt.Sprintf(format, args...)
	if len(reason) > 120 { // a close reason fits in 123 bytes
		reason = reason[:120]
	}
	return refusal{code, reason}
}

// conn is one client's connection.
type conn struct {
	actor actor.Actor
	out   chan []byte
	// kicked ends the writer; why says the close code and reason.
	kicked   chan struct{}
	kickOnce sync.Once
	why      refusal
	subs     map[string]struct{} // by hub key; the reader's own
}

// send queues a frame without waiting; a full queue drops the client.
func (c *conn) send(f []byte) {
	select {
	case c.out <- f:
	default:
		c.kick(refuse(websocket.StatusTryAgainLater, "too slow: %d frames waiting", cap(c.out)))
	}
}

func (c *conn) kick(r refusal) {
	c.kickOnce.Do(func() {
		c.why = r
		close(c.kicked)
	})
}

// ServeHTTP upgrades the request, authenticates it and hands the
// connection to the hub, which serves it until either side closes it or
// the hub shuts down. Refusals are made after the upgrade, so the client
// reads a close code and reason rather than a bare HTTP status.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Origin is checked below, for sessions only: a bearer credential is
	// not sent by a browser on its own, so a foreign page cannot use it.
	up := &upgrader{ResponseWriter: w}
	ws, err := websocket.Accept(up, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		h.opt.Log.Debug("websocket upgrade refused", "err", err)
		return
	}
	a, err := h.authenticate(r)
	if err != nil {
		var rf refusal
		if !errors.As(err, &rf) {
			rf = refuse(websocket.StatusPolicyViolation, "authentication failed")
		}
		h.opt.Log.Info("websocket refused", "code", int(rf.code), "reason", rf.reason)
		_ = ws.Close(rf.code, rf.reason)
		_ = ws.CloseNow()
		return
	}
	ws.SetReadLimit(h.opt.ReadLimit)
	c := &conn{actor: a, out: make(chan []byte, h.opt.Queue), kicked: make(chan struct{}), subs: map[string]struct{}{}}
	if !h.add(c) {
		_ = ws.Close(websocket.StatusGoingAway, "shutting down")
		_ = ws.CloseNow()
		return
	}
	// The hub owns the connection from here (add counted it): the
	// handler returns, and what net/http kept for the request and its
	// goroutine's grown stack are freed while the connection lives on.
	go h.serve(ws, up.conn, c)
}

// serve runs a connection's reader and writer until both end.
func (h *Hub) serve(ws *websocket.Conn, nc net.Conn, c *conn) {
	defer h.remove(c)
	defer ws.CloseNow()
	// The reader ends when the connection closes, which the writer does
	// on every way out.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.kick(h.read(ws, c))
	}()
	h.write(ws, nc, c)
	<-readDone
	if c.why.code != websocket.StatusNormalClosure {
		h.opt.Log.Info("websocket closed", "actor", c.actor.String(), "tenant", c.actor.TenantID, "code", int(c.why.code), "reason", c.why.reason)
	}
}

// upgrader keeps the connection the WebSocket upgrade takes over, so that
// a write is bounded by the socket's deadline rather than by a context
// and a timer made for each write, and gives the connection buffers sized
// for the hub's traffic.
type upgrader struct {
	http.ResponseWriter
	conn net.Conn
}

// Buffer sizes of a connection. Clients send only small requests (the
// read limit bounds them); a frame larger than the write buffer goes out
// in two writes rather than one, and event frames are mostly far smaller.
// net/http's own are 4 KiB each, which with 10,000 clients is 80 MB held
// for traffic that seldom needs it.
const (
	readBuffer  = 512
	writeBuffer = 2 << 10
)

// Hijack implements http.Hijacker for websocket.Accept.
func (u *upgrader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	u.conn = nc
	br := brw.Reader
	if br.Buffered() == 0 {
		// Nothing the client sent ahead is held in net/http's reader, so
		// a smaller one reading the socket loses nothing.
		br = bufio.NewReaderSize(nc, readBuffer)
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, writeBuffer)), nil
}

func (h *Hub) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *Hub) remove(c *conn) {
	for key := range c.subs {
		h.unsubscribe(c, key)
	}
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
}

// authenticate takes a bearer credential, or else a session from an
// allowed Origin.
func (h *Hub) authenticate(r *http.Request) (actor.Actor, error) {
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if h.opt.Bearer == nil {
			return actor.Actor{}, refuse(websocket.StatusPolicyViolation, "bearer credentials are not accepted here")
		}
		a, err := h.opt.Bearer.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return actor.Actor{}, refuse(websocket.StatusPolicyViolation, "invalid credentials")
		}
		return a, nil
	}
	if h.opt.Session == nil || len(r.Cookies()) == 0 {
		return actor.Actor{}, refuse(websocket.StatusPolicyViolation, "authentication required: a session or a bearer token")
	}
	if !h.originAllowed(r) {
		return actor.Actor{}, refuse(websocket.StatusPolicyViolation, "origin not allowed")
	}
	a, err := h.opt.Session.Authenticate(r)
	if err != nil {
		return actor.Actor{}, refuse(websocket.StatusPolicyViolation, "authentication required: the session is not valid")
	}
	return a, nil
}

// originAllowed admits a session only from the platform's own origins:
// a cookie is sent by the browser whatever page opens the socket.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.opt.Origins {
		if strings.EqualFold(strings.TrimRight(o, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}

// write sends the queued frames and the pings until the connection is
// dropped, the hub closes (which drops every connection) or a write
// fails; then it closes the connection with the reason.
func (h *Hub) write(ws *websocket.Conn, nc net.Conn, c *conn) {
	ping := time.NewTicker(h.opt.Ping)
	defer ping.Stop()
	for {
		select {
		case <-c.kicked:
			h.closeWith(ws, c.why)
			return
		default:
		}
		select {
		case <-c.kicked:
			h.closeWith(ws, c.why)
			return
		case f := <-c.out:
			if err := h.writeFrame(ws, nc, f); err != nil {
				c.kick(refuse(websocket.StatusGoingAway, "write failed"))
			}
		case <-ping.C:
			// A write cancelled midway closes the connection without a
			// reason, so pings have their own deadline, not the hub's
			// context.
			ctx, cancel := context.WithTimeout(context.Background(), h.opt.WriteTimeout)
			err := ws.Ping(ctx)
			cancel()
			if err != nil {
				c.kick(refuse(websocket.StatusGoingAway, "no pong"))
			}
		}
	}
}

// writeFrame writes one frame within WriteTimeout. The bound is the
// socket's write deadline, set and cleared around the write (the reader
// answers the client's pings on the same socket at any time): one
// price update is written to every client at once, and a context with a
// timer for each write were some 40% of a write's work besides the
// system call.
func (h *Hub) writeFrame(ws *websocket.Conn, nc net.Conn, f []byte) error {
	if err := nc.SetWriteDeadline(time.Now().Add(h.opt.WriteTimeout)); err != nil {
		return err
	}
	err := ws.Write(context.Background(), websocket.MessageText, f)
	if derr := nc.SetWriteDeadline(time.Time{}); err == nil {
		err = derr
	}
	return err
}

// closeWith closes with the reason, not waiting long for a client that
// does not read.
func (h *Hub) closeWith(ws *websocket.Conn, r refusal) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ws.Close(r.code, r.reason)
	}()
	select {
	case <-done:
	case <-time.After(h.opt.WriteTimeout):
		_ = ws.CloseNow()
		<-done
	}
}

// request is what a client sends.
type request struct {
	Type    string  `json:"type"`
	Channel string  `json:"channel"`
	After   *uint64 `json:"after"`
}

// read handles the client's messages until the connection ends or one
// of them is refused; it answers why.
func (h *Hub) read(ws *websocket.Conn, c *conn) refusal {
	// The read ends when the connection closes; the writer closes it on
	// every way out, so the read needs no cancellation of its own.
	ctx := context.WithoutCancel(h.ctx)
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				return refuse(websocket.StatusMessageTooBig, "frame over %d bytes", h.opt.ReadLimit)
			}
			if s := websocket.CloseStatus(err); s != -1 {
				return refusal{code: s, reason: "closed by the client"}
			}
			return refusal{code: websocket.StatusNormalClosure, reason: "connection ended"}
		}
		if typ != websocket.MessageText {
			return refuse(websocket.StatusUnsupportedData, "binary frames are not supported")
		}
		var q request
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return refuse(websocket.StatusInvalidFramePayloadData, "malformed message: want JSON with a type")
		}
		if rf, ok := h.handle(ctx, c, q); !ok {
			return rf
		}
	}
}

// handle runs one request; false with the refusal ends the connection.
func (h *Hub) handle(ctx context.Context, c *conn, q request) (refusal, bool) {
	switch q.Type {
	case "ping":
		c.send(mustJSON(frame{Type: typePong}))
		return refusal{}, true
	case "subscribe":
		key, err := h.authorize(ctx, c.actor, q.Channel)
		if err != nil {
			var rf refusal
			if errors.As(err, &rf) {
				return rf, false
			}
			h.opt.Log.Error("authorize a subscription", "channel", q.Channel, "err", err)
			return refuse(websocket.StatusInternalError, "could not check access to %s", q.Channel), false
		}
		if _, ok := c.subs[key]; !ok && len(c.subs) >= h.opt.MaxSubscriptions {
			return refuse(websocket.StatusPolicyViolation, "at most %d channels per connection", h.opt.MaxSubscriptions), false
		}
		c.subs[key] = struct{}{}
		h.subscribeAndResume(ctx, c, key, q)
		return refusal{}, true
	case "unsubscribe":
		key, err := h.authorize(ctx, c.actor, q.Channel)
		if err == nil {
			h.unsubscribe(c, key)
			delete(c.subs, key)
		}
		c.send(mustJSON(frame{Type: typeUnsubscribed, Channel: q.Channel}))
		return refusal{}, true
	}
	return refuse(websocket.StatusInvalidFramePayloadData, "unknown message type %q", q.Type), false
}

func (h *Hub) subscribeAndResume(ctx context.Context, c *conn, key string, q request) {
	var after uint64
	if q.After != nil {
		after = *q.After
	}
	res, last := h.subscribe(c, key, after)
	if res == resumeUnknown {
		// Subscribed before asking: an id past the bus's last one
		// arrives live, so nothing falls between.
		bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		busLast, err := h.opt.Bus.Last(bctx, key)
		cancel()
		switch {
		case err != nil:
			h.opt.Log.Warn("read a channel's last id", "channel", key, "err", err)
			res = resumeRefetch
		case last == 0 && after == busLast:
			// Nothing reached this instance yet, and nothing was missed.
			res, last = resumeLive, busLast
		case last > 0 && after <= busLast:
			// This instance lags the bus: the rest is on its way and
			// arrives live (ids up to after again, which the client
			// ignores).
			res, last = resumeLive, busLast
		default:
			res, last = resumeRefetch, max(last, busLast)
		}
	}
	if res == resumeRefetch {
		c.send(mustJSON(frame{Type: typeRefetch, Channel: q.Channel, Last: &last}))
		return
	}
	c.send(mustJSON(frame{Type: typeSubscribed, Channel: q.Channel, Last: &last}))
}

// authorize maps a channel's public name to the hub's key if the actor
// may follow it, and refuses it (1008) otherwise.
func (h *Hub) authorize(ctx context.Context, a actor.Actor, name string) (string, error) {
	if a.TenantID == "" {
		return "", refuse(websocket.StatusPolicyViolation, "no tenant")
	}
	switch {
	case name == chanPrices:
		feed := "sandbox"
		if h.opt.Access != nil {
			f, err := h.opt.Access.PriceFeed(ctx, a.TenantID)
			if err != nil {
				return "", fmt.Errorf("price feed of tenant %s: %w", a.TenantID, err)
			}
			feed = f
		}
		return PricesKey(feed), nil
	case name == chanNotifications:
		return NotificationsKey(a.TenantID), nil
	case name == chanAgent:
		if !a.Role.AtLeast(actor.RolePodAdmin) {
			return "", refuse(websocket.StatusPolicyViolation, "not allowed: agent is for POD Admins")
		}
		return AgentKey(a.TenantID), nil
	case strings.HasPrefix(name, chanPodPrefix) && len(name) > len(chanPodPrefix) && len(name) <= 128:
		podID := strings.TrimPrefix(name, chanPodPrefix)
		if h.opt.Access == nil {
			return "", refuse(websocket.StatusPolicyViolation, "not allowed: %s", name)
		}
		owner, err := h.opt.Access.PodOwner(ctx, a.TenantID, podID)
		// A pod of another tenant, or none, reads as another user's: the
		// answer tells nothing of which.
		if err != nil || (owner != a.ID && !a.Role.AtLeast(actor.RolePodAdmin)) {
			return "", refuse(websocket.StatusPolicyViolation, "not allowed: %s", name)
		}
		return PodKey(podID), nil
	}
	return "", refuse(websocket.StatusPolicyViolation, "unknown channel %q", truncate(name, 40))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
