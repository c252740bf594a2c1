package api

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gpubroker/pod/actor"
)

// seen is what the request log knows of a request: its id, and the caller
// once Authenticate has found it.
type seen struct {
	id     string
	actor  actor.Actor
	caller bool // actor is set
}

type seenKey struct{}

// requestContext carries a request's id (under chi's key, so
// middleware.GetReqID finds it) and its seen record in one context value.
type requestContext struct {
	context.Context
	info *seen
	id   any // info.id, boxed once rather than on every lookup
}

func (c *requestContext) Value(key any) any {
	switch key {
	case seenKey{}:
		return c.info
	case middleware.RequestIDKey:
		return c.id
	case actor.ContextKey:
		if c.info.caller {
			return c.info.actor
		}
	}
	return c.Context.Value(key)
}

// requestIDPrefix starts every request id of this instance: the host name
// and a random part, so ids from several instances never collide.
func requestIDPrefix() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "gpubroker"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "/" + base64.RawURLEncoding.EncodeToString(b) + "-"
}

// withActor puts the caller in the request's context: in the request
// log's own context when there is one (which reports it and answers
// actor.From without another copy of the request), else in a new one.
func withActor(r *http.Request, a actor.Actor) *http.Request {
	if s, ok := r.Context().Value(seenKey{}).(*seen); ok && !s.caller {
		s.actor, s.caller = a, true
		return r
	}
	return r.WithContext(actor.With(r.Context(), a))
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes for
// MCP's streamed answers).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack passes a connection takeover through (WebSocket upgrades).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the response writer cannot be hijacked")
	}
	w.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

// Flush passes flushes through for streamed answers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// requestLog gives each request an id (chi's middleware.GetReqID reads it:
// the X-Request-Id header when the caller sent one, else this instance's
// prefix and a counter), logs one line per request — method, route
// pattern, status, duration, request id, tenant and actor — and turns a
// panic into a 500 whose log line carries the same facts and the stack.
// One middleware does both so a request is copied once, not twice.
func requestLog(log *slog.Logger) func(http.Handler) http.Handler {
	prefix := requestIDPrefix()
	var n atomic.Uint64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get(middleware.RequestIDHeader)
			if id == "" || len(id) > 128 {
				id = prefix + strconv.FormatUint(n.Add(1), 10)
			}
			// One allocation holds what the request log tracks.
			t := &struct {
				info seen
				sw   statusWriter
				ctx  requestContext
			}{info: seen{id: id}, sw: statusWriter{ResponseWriter: w}}
			info, sw := &t.info, &t.sw
			t.ctx = requestContext{Context: r.Context(), info: info, id: id}
			r = r.WithContext(&t.ctx)
			defer func() {
				p := recover()
				if p == http.ErrAbortHandler {
					panic(p)
				}
				if p != nil {
					if sw.status == 0 {
						writeProblem(sw, r, slog.New(slog.DiscardHandler), errPanic)
					}
					log.LogAttrs(r.Context(), slog.LevelError, "request panicked", append(attrs(r, info, sw.status, start),
						slog.Any("panic", p), slog.String("stack", string(debug.Stack())))...)

					return
				}
				level := slog.LevelInfo
				if sw.status >= 500 {
					level = slog.LevelError
				}
				if !log.Enabled(r.Context(), level) {
					return
				}
				// The attributes are passed inline, not built in a slice,
				// so the common line allocates nothing of its own.
				route, status := routeOf(r), cmp.Or(sw.status, http.StatusOK)
				if info.caller {
					log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method), slog.String("route", route),
						slog.Int("status", status), slog.Duration("duration", time.Since(start)), slog.String("request_id", info.id),
						slog.String("tenant", info.actor.TenantID), slog.String("actor", info.actor.String()))
					return
				}
				log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method), slog.String("route", route),
					slog.Int("status", status), slog.Duration("duration", time.Since(start)), slog.String("request_id", info.id))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// errPanic answers a request whose handler panicked.
var errPanic = panicError{}

type panicError struct{}

func (panicError) Error() string { return "handler panicked" }

// routeOf is the route pattern that served r, or its path when none did.
func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return r.URL.Path
}

// attrs are the facts of a request's log line, for the panic line.
func attrs(r *http.Request, info *seen, status int, start time.Time) []slog.Attr {
	out := []slog.Attr{slog.String("method", r.Method), slog.String("route", routeOf(r)), slog.Int("status", cmp.Or(status, http.StatusOK)),
		slog.Duration("duration", time.Since(start)), slog.String("request_id", info.id)}
	if info.caller {
		out = append(out, slog.String("tenant", info.actor.TenantID), slog.String("actor", info.actor.String()))
	}
	return out
}
