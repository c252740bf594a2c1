// Package logs is the process's log output: JSON lines (slog) written
// through a buffer that is flushed at a short interval, when it fills, at
// once after a warning or an error, and on Close. A busy server then pays
// one write to its output per batch of lines instead of one per request,
// while what reports a problem is never held back. What the buffer holds
// when the process dies without Close (at most one interval of info lines)
// is lost.
package logs

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer buffers writes to an underlying writer.
type Writer struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewWriter buffers w and flushes it every interval until Close.
func NewWriter(w io.Writer, interval time.Duration) *Writer {
	lw := &Writer{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.run(interval)
	return lw
}

func (w *Writer) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write buffers p; a line is never split between two flushes.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Available() < len(p) {
		if err := w.buf.Flush(); err != nil {
			return 0, err
		}
	}
	return w.buf.Write(p)
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

// Close stops the interval flushes and writes out what is buffered.
func (w *Writer) Close() error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
	return w.Flush()
}

// NewLogger returns a JSON logger at level over w, flushing w after every
// record at warning level or above.
func NewLogger(w *Writer, level slog.Level) *slog.Logger {
	return slog.New(flushing{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}), w: w})
}

// flushing flushes the writer after records that report a problem.
type flushing struct {
	slog.Handler
	w *Writer
}

func (h flushing) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushing) WithAttrs(as []slog.Attr) slog.Handler {
	return flushing{Handler: h.Handler.WithAttrs(as), w: h.w}
}

func (h flushing) WithGroup(name string) slog.Handler {
	return flushing{Handler: h.Handler.WithGroup(name), w: h.w}
}
