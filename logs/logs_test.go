package logs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink is a thread-safe buffer that counts the writes it receives.
type sink struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *sink) read() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestInfoLinesWaitForTheIntervalAndProblemsDoNot(t *testing.T) {
	out := &sink{}
	w := NewWriter(out, time.Hour) // no interval flush within the test
	log := NewLogger(w, slog.LevelInfo).With("instance", "a")
	for i := range 100 {
		log.Info("request", "n", i)
	}
	if got, _ := out.read(); got != "" {
		t.Fatalf("info lines reached the output before a flush: %q", got)
	}
	log.Warn("slow provider")
	got, writes := out.read()
	if n := strings.Count(got, "\n"); n != 101 || writes != 1 {
		t.Fatalf("after a warning: %d lines in %d writes; want all 101 in one write", n, writes)
	}
	log.Info("after")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ = out.read()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["msg"] != "after" || last["instance"] != "a" {
		t.Fatalf("Close did not write the last line whole: %q (%v)", lines[len(lines)-1], err)
	}
}

func TestTheIntervalFlushesAndConcurrentLinesStayWhole(t *testing.T) {
	out := &sink{}
	w := NewWriter(out, 10*time.Millisecond)
	defer w.Close()
	log := NewLogger(w, slog.LevelInfo)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				log.Info("request", "g", g, "i", i, "pad", strings.Repeat("x", 200))
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := out.read()
		if strings.Count(got, "\n") == 4000 {
			for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
				if !json.Valid([]byte(l)) {
					t.Fatalf("a line was split or interleaved: %q", l)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the interval flush did not write every line: %d of 4000", strings.Count(got, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
