package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// BatchLog appends many records at once.
type BatchLog interface {
	AppendAudits(ctx context.Context, rs []Record) error
}

// Writer takes records from the call path without waiting for the database
// and writes them in batches. A full queue makes callers wait rather than
// lose records. Close flushes what is queued.
type Writer struct {
	log   BatchLog
	l     *slog.Logger
	queue chan Record
	flush chan chan struct{}
	done  chan struct{}
	once  sync.Once
}

// NewWriter starts a writer with a queue of size records.
func NewWriter(log BatchLog, size int, l *slog.Logger) *Writer {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	w := &Writer{log: log, l: l, queue: make(chan Record, size), flush: make(chan chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Record queues r.
func (w *Writer) Record(r Record) { w.queue <- r }

// Flush returns once every record queued before the call is written.
func (w *Writer) Flush() {
	ack := make(chan struct{})
	w.flush <- ack
	<-ack
}

// Close writes what is queued and stops the writer.
func (w *Writer) Close() {
	w.once.Do(func() {
		close(w.queue)
		<-w.done
	})
}

const maxBatch = 256

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Record, 0, maxBatch)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.log.AppendAudits(ctx, batch); err != nil {
			w.l.Error("write audit records", "count", len(batch), "err", err)
		}
		cancel()
		batch = batch[:0]
	}
	for {
		select {
		case r, ok := <-w.queue:
			if !ok {
				write()
				return
			}
			batch = append(batch, r)
			if len(batch) == maxBatch {
				write()
			}
		case ack := <-w.flush:
			for drained := false; !drained; {
				select {
				case r, ok := <-w.queue:
					if !ok {
						drained = true
						break
					}
					batch = append(batch, r)
					if len(batch) == maxBatch {
						write()
					}
				default:
					drained = true
				}
			}
			write()
			close(ack)
		case <-tick.C:
			write()
		}
	}
}
