//go:build linux

package realtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// BenchmarkFanout10k connects 10,000 clients on loopback to one hub, all
// following prices, and times each price update from Publish to its
// arrival at every client. What it measures is the server's fan-out:
// encoding the update, queueing it to every follower and writing it to
// every socket, until the bytes are in the client's socket. The clients
// run in a child process (this test binary again, as
// TestFanoutClients), so the reported resident memory is the server's
// alone and each process stays under the open file limit; that process
// is a minimal reader (one goroutine reading every socket through
// epoll, see fanoutClients) so that on a small machine it takes as
// little CPU from the server as it can, rather than 10,000 goroutines
// each decoding JSON. It reports the p50 and p99 of the latencies.
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
	addr := strings.TrimPrefix(url, "ws://")
	fds := make([]int, n)
	var g errgroup.Group
	g.SetLimit(64)
	for i := range n {
		g.Go(func() (err error) {
			fds[i], err = fanoutClient(addr)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("connect %d clients: %v", n, err)
	}
	fc, err := newFanoutClients(fds)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.close()
	fmt.Println("fanout:ready")
	lat := make([]time.Duration, 0, n*rounds)
	for range rounds {
		if lat, err = fc.receive(lat, n, 30*time.Second); err != nil {
			t.Fatalf("only %d clients got the update: %v", len(lat)%n, err)
		}
		fmt.Println("fanout:got")
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("fanout:latency %.2f %.2f\n", ms(lat[len(lat)*50/100]), ms(lat[len(lat)*99/100]))
}

// fanoutClient opens one WebSocket to the hub at addr, follows prices,
// and hands back the socket's descriptor once the hub said subscribed.
func fanoutClient(addr string) (int, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return -1, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ann\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return -1, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return -1, fmt.Errorf("upgrade answered %s", resp.Status)
	}
	if _, err := nc.Write(maskedText([]byte(`{"type":"subscribe","channel":"prices"}`))); err != nil {
		return -1, err
	}
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return -1, err
	}
	if hdr[1] >= 126 {
		return -1, fmt.Errorf("subscribed frame of %d bytes", hdr[1])
	}
	body := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, body); err != nil {
		return -1, err
	}
	if !strings.Contains(string(body), `"subscribed"`) || br.Buffered() > 0 {
		return -1, fmt.Errorf("want subscribed alone, got %q and %d bytes more", body, br.Buffered())
	}
	// The socket is read by fanoutClients from here: a duplicate of its
	// descriptor outlives nc, whose Close takes it off Go's poller.
	sc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if cerr := sc.Control(func(s uintptr) { fd, err = syscall.Dup(int(s)) }); cerr != nil {
		return -1, cerr
	}
	return fd, err
}

// maskedText is a client's text frame of p (under 126 bytes).
func maskedText(p []byte) []byte {
	return maskedFrame(0x1, p)
}

func maskedFrame(opcode byte, p []byte) []byte {
	key := [4]byte{0x1f, 0x2e, 0x3d, 0x4c}
	f := append([]byte{0x80 | opcode, 0x80 | byte(len(p))}, key[:]...)
	for i, c := range p {
		f = append(f, c^key[i%4])
	}
	return f
}

// fanoutClients reads every client's socket from one goroutine through
// epoll and takes from each event frame the time it was sent.
type fanoutClients struct {
	ep      int
	fds     []int
	pending map[int][]byte // a frame's start, when a read ended midway
	buf     []byte
	events  []syscall.EpollEvent
}

func newFanoutClients(fds []int) (*fanoutClients, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	fc := &fanoutClients{ep: ep, fds: fds, pending: map[int][]byte{}, buf: make([]byte, 64<<10),
		events: make([]syscall.EpollEvent, 1024)}
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			return nil, err
		}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
			return nil, err
		}
	}
	return fc, nil
}

func (fc *fanoutClients) close() {
	for _, fd := range fc.fds {
		_ = syscall.Close(fd)
	}
	_ = syscall.Close(fc.ep)
}

// receive reads until n more event frames arrived, adding each one's
// latency to lat.
func (fc *fanoutClients) receive(lat []time.Duration, n int, timeout time.Duration) ([]time.Duration, error) {
	want := len(lat) + n
	deadline := time.Now().Add(timeout)
	for len(lat) < want {
		if time.Now().After(deadline) {
			return lat, fmt.Errorf("timed out after %s", timeout)
		}
		k, err := syscall.EpollWait(fc.ep, fc.events, 100)
		if err != nil && err != syscall.EINTR {
			return lat, err
		}
		for _, ev := range fc.events[:max(k, 0)] {
			if lat, err = fc.drain(int(ev.Fd), lat); err != nil {
				return lat, err
			}
		}
	}
	return lat, nil
}

// drain reads what one socket holds and handles its whole frames.
func (fc *fanoutClients) drain(fd int, lat []time.Duration) ([]time.Duration, error) {
	for {
		m, err := syscall.Read(fd, fc.buf)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return lat, nil
		}
		if err != nil {
			return lat, err
		}
		if m == 0 {
			return lat, fmt.Errorf("the hub closed a connection")
		}
		data := fc.buf[:m]
		if p := fc.pending[fd]; p != nil {
			data = append(p, data...)
			delete(fc.pending, fd)
		}
		for len(data) > 0 {
			opcode, payload, size, ok := serverFrame(data)
			if !ok {
				fc.pending[fd] = append([]byte(nil), data...)
				break
			}
			switch opcode {
			case 0x1: // text: an event
				sent, err := sentAt(payload)
				if err != nil {
					return lat, err
				}
				lat = append(lat, time.Since(time.Unix(0, sent)))
			case 0x8:
				return lat, fmt.Errorf("the hub closed a connection: %q", payload)
			case 0x9: // ping
				if _, err := syscall.Write(fd, maskedFrame(0xA, payload)); err != nil {
					return lat, err
				}
			}
			data = data[size:]
		}
	}
}

// serverFrame splits the first of the server's (unmasked, unfragmented)
// frames off data; ok is false while data holds only part of it.
func serverFrame(data []byte) (opcode byte, payload []byte, size int, ok bool) {
	if len(data) < 2 {
		return 0, nil, 0, false
	}
	n, head := int(data[1]&0x7f), 2
	switch n {
	case 126:
		if len(data) < 4 {
			return 0, nil, 0, false
		}
		n, head = int(data[2])<<8|int(data[3]), 4
	case 127:
		if len(data) < 10 {
			return 0, nil, 0, false
		}
		n, head = 0, 10
		for _, c := range data[2:10] {
			n = n<<8 | int(c)
		}
	}
	if len(data) < head+n {
		return 0, nil, 0, false
	}
	return data[0] & 0x0f, data[head : head+n], head + n, true
}

// sentAt reads the "sent" time out of an event frame's data without
// decoding the rest.
func sentAt(frame []byte) (int64, error) {
	const key = `"sent":`
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return 0, fmt.Errorf("an event without its sending time: %q", frame)
	}
	rest := frame[i+len(key):]
	end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	return strconv.ParseInt(string(rest[:end]), 10, 64)
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
