package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"
)

// BenchmarkFanout10k connects 10,000 clients on loopback to one hub, all
// following prices, and times each price update from Publish to its
// arrival at every client. The clients run in a child process (this
// test binary again, as TestFanoutClients), so the reported resident
// memory is the server's alone and each process stays under the open
// file limit. It reports the p50 and p99 of the latencies.
func BenchmarkFanout10k(b *testing.B) {
	const clients = 10_000
	raiseFileLimit(b, clients+1024)
	h := NewHub(Options{Bearer: fakeBearer{}, Access: fakeAccess{}})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Start()
	defer func() { h.Close(); srv.Close() }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFanoutClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GPUBROKER_FANOUT_URL=ws"+strings.TrimPrefix(srv.URL, "http"),
		"GPUBROKER_FANOUT_CLIENTS="+strconv.Itoa(clients), "GPUBROKER_FANOUT_ROUNDS="+strconv.Itoa(b.N))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	expect := func(prefix string) string {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		b.Fatalf("the client process ended before %q: %v", prefix, lines.Err())
		return ""
	}
	expect("fanout:ready")
	conns := h.Stats().Connections
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		data := json.RawMessage(fmt.Sprintf(`{"sent":%d,"offers":[{"offer_id":"sbx-a100-1","gpu":"A100","provider":"sandbox","price_hour":1.89,"availability":"available"}]}`,
			time.Now().UnixNano()))
		if err := h.Publish(ctx, Message{Channel: PricesKey("sandbox"), Event: "market.prices_updated", Data: data}); err != nil {
			b.Fatal(err)
		}
		expect("fanout:got")
	}
	b.StopTimer()
	rss := rssKiB()
	var p50, p99 float64
	if _, err := fmt.Sscan(expect("fanout:latency"), &p50, &p99); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(float64(rss)/1024, "server-rss-MiB")
	b.ReportMetric(float64(conns), "conns")
}

// TestFanoutClients is BenchmarkFanout10k's client process; it does
// nothing unless the benchmark started it.
func TestFanoutClients(t *testing.T) {
	url := os.Getenv("GPUBROKER_FANOUT_URL")
	if url == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("GPUBROKER_FANOUT_CLIENTS"))
	rounds, _ := strconv.Atoi(os.Getenv("GPUBROKER_FANOUT_ROUNDS"))
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	hc := &http.Client{Transport: tr}
	conns := make([]*websocket.Conn, n)
	var g errgroup.Group
	g.SetLimit(64)
	for i := range n {
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc,
				HTTPHeader: http.Header{"Authorization": {"Bearer ann"}}})
			if err != nil {
				return err
			}
			conns[i] = ws
			if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channel":"prices"}`)); err != nil {
				return err
			}
			_, _, err = ws.Read(ctx) // subscribed
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("connect %d clients: %v", n, err)
	}
	arrivals := make(chan time.Duration, n)
	var readers sync.WaitGroup
	for _, ws := range conns {
		readers.Go(func() {
			for {
				_, b, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				var f struct {
					Data struct {
						Sent int64 `json:"sent"`
					} `json:"data"`
				}
				_ = json.Unmarshal(b, &f)
				arrivals <- time.Since(time.Unix(0, f.Data.Sent))
			}
		})
	}
	fmt.Println("fanout:ready")
	lat := make([]time.Duration, 0, n*rounds)
	for range rounds {
		for range n {
			select {
			case d := <-arrivals:
				lat = append(lat, d)
			case <-time.After(30 * time.Second):
				t.Fatalf("only %d clients got the update", len(lat)%n)
			}
		}
		fmt.Println("fanout:got")
	}
	for _, ws := range conns {
		_ = ws.CloseNow()
	}
	readers.Wait()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("fanout:latency %.2f %.2f\n", ms(lat[len(lat)*50/100]), ms(lat[len(lat)*99/100]))
}

func raiseFileLimit(b *testing.B, want uint64) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		b.Fatal(err)
	}
	if l.Cur >= want {
		return
	}
	l.Cur = min(want, l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur < want {
		b.Skipf("need %d open files, may have %d: %v", want, l.Cur, err)
	}
}

// rssKiB reads this process's resident set (VmRSS) from /proc.
func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
