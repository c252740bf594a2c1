package api

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gpubroker/pod/actor"
)

// seen is what inner handlers learn about a request that its log line
// reports: Authenticate fills in the caller.
type seen struct {
	actor actor.Actor
}

type seenKey struct{}

// noteActor tells the request log who is calling, when the request is
// logged.
func noteActor(ctx context.Context, a actor.Actor) {
	if s, ok := ctx.Value(seenKey{}).(*seen); ok {
		s.actor = a
	}
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

// requestLog logs one line per request — method, route pattern, status,
// duration, request id, tenant and actor — and turns a panic into a 500
// whose log line carries the same facts and the stack. It runs after
// middleware.RequestID, so the id is known.
func requestLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			info := &seen{}
			sw := &statusWriter{ResponseWriter: w}
			r = r.WithContext(context.WithValue(r.Context(), seenKey{}, info))
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
				if log.Enabled(r.Context(), level) {
					log.LogAttrs(r.Context(), level, "request", attrs(r, info, sw.status, start)...)
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// errPanic answers a request whose handler panicked.
var errPanic = panicError{}

type panicError struct{}

func (panicError) Error() string { return "handler panicked" }

func attrs(r *http.Request, info *seen, status int, start time.Time) []slog.Attr {
	route := r.URL.Path
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			route = p
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	out := make([]slog.Attr, 0, 8)
	out = append(out, slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
		slog.Duration("duration", time.Since(start)), slog.String("request_id", middleware.GetReqID(r.Context())))
	if info.actor.ID != "" {
		out = append(out, slog.String("tenant", info.actor.TenantID), slog.String("actor", info.actor.String()))
	}
	return out
}
