// Command loadrun measures the faces on loopback, as `make bench` does: the
// REST face under wrk beside a bare net/http handler serving the same bytes
// in the same run, and MCP tools/call latency over streamable HTTP. It
// starts the real platform on a temporary SQLite database, talks only to
// 127.0.0.1 and stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/app"
	"github.com/gpubroker/pod/logs"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tools"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(1)
	}
}

func run() error {
	// The run raises the rate limit to its highest, a million calls a minute.
	duration := flag.Duration("d", 3*time.Second, "wrk duration per target and round")
	rounds := flag.Int("rounds", 3, "rounds of bare then REST runs per target; the median ratio is reported")
	conns := flag.Int("c", 32, "wrk connections")
	calls := flag.Int("mcp-calls", 2000, "sequential MCP tools/call requests")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of one REST run to this file")
	profileTool := flag.String("profile-tool", tools.ToolGetTenant, "the tool whose REST run -cpuprofile records")
	requestLog := flag.Bool("request-log", true, "log a JSON line per request to a file, as production logs (false: discard logs, to measure what the log costs)")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gpubroker-loadrun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The platform logs as gpubroker serve does: a JSON line per request,
	// through the same buffered writer, to a file, so the runs pay for the
	// request log.
	logFile, err := os.Create(filepath.Join(dir, "requests.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	out := logs.NewWriter(logFile, 100*time.Millisecond)
	defer out.Close()
	log := logs.NewLogger(out, slog.LevelInfo)
	if !*requestLog {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(ctx, app.Config{DataDir: dir, Version: "loadrun"}, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Seed(ctx); err != nil {
		return err
	}
	op := actor.System("loadrun")
	if _, err := a.Params.Set(ctx, op, params.SetRequest{Scope: params.Scope{TenantID: "default"},
		Key: "ratelimit.tool_calls_per_minute", Value: "1000000", Confirm: "default"}); err != nil {
		return err
	}
	_, token, err := a.Identity.CreateAPIToken(ctx, op, "default", actor.RolePodAdmin, "loadrun", nil, 0)
	if err != nil {
		return err
	}
	real, err := serve(a.Handler())
	if err != nil {
		return err
	}
	targets := []struct{ tool, path string }{
		{tools.ToolGetTenant, "/api/v1/tenants/default"},
		{tools.ToolListOffers, "/api/v1/offers?gpu=H100-SXM-80GB&sort=topsis&limit=20"},
	}
	for _, tg := range targets {
		profile := ""
		if tg.tool == *profileTool {
			profile = *cpuProfile
		}
		if err := compare(real, tg.tool, tg.path, token, *conns, *duration, max(*rounds, 1), profile); err != nil {
			return err
		}
	}

	p50, p99, err := mcpLatency(ctx, real+"/mcp", token, *calls)
	if err != nil {
		return err
	}
	fmt.Printf("MCP: tools/call get_tenant over streamable HTTP, %d sequential calls\n  p50 %s  p99 %s\n", *calls, p50, p99)
	return nil
}

// compare runs wrk against a bare net/http handler serving the bytes a
// REST route answered and then against the route, in turns, and reports
// each round and the median ratio: on a small machine one pair of runs
// swings by several percent, alternating rounds evens out the drift.
func compare(real, tool, path, token string, conns int, d time.Duration, rounds int, cpuProfile string) error {
	body, err := fetch(real+path, token)
	if err != nil {
		return err
	}
	bare, err := serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	if err != nil {
		return err
	}
	fmt.Printf("REST: GET %s (%d bytes), wrk -c%d -d%s, %d rounds\n", path, len(body), conns, d, rounds)
	ratios := make([]float64, 0, rounds)
	for round := range rounds {
		bareRPS, err := wrk(bare+path, token, conns, d)
		if err != nil {
			return err
		}
		realRPS, err := profiled(cpuProfile, round == 0, func() (float64, error) { return wrk(real+path, token, conns, d) })
		if err != nil {
			return err
		}
		ratios = append(ratios, realRPS/bareRPS)
		fmt.Printf("  round %d: bare net/http handler %9.0f req/s, %-12s over REST %9.0f req/s (%.0f%% of bare)\n",
			round+1, bareRPS, tool, realRPS, 100*realRPS/bareRPS)
	}
	sort.Float64s(ratios)
	fmt.Printf("  %-12s over REST: median %.0f%% of bare (range %.0f–%.0f%%)\n", tool,
		100*ratios[len(ratios)/2], 100*ratios[0], 100*ratios[len(ratios)-1])
	return nil
}

// profiled runs fn, under the CPU profiler writing to file when on and a
// file is named.
func profiled(file string, on bool, fn func() (float64, error)) (float64, error) {
	if file == "" || !on {
		return fn()
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return 0, err
	}
	defer pprof.StopCPUProfile()
	return fn()
}

func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() { _ = http.Serve(ln, h) }()
	return "http://" + ln.Addr().String(), nil
}

func fetch(url, token string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, err
}

var (
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	non2xxLine = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// wrk runs wrk against url and returns requests per second; any non-2xx
// answer fails the run, so refusals cannot pass for throughput.
func wrk(url, token string, conns int, d time.Duration) (float64, error) {
	out, err := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+d.String(), "--latency",
		"-H", "Authorization: Bearer "+token, url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk (install it with apt-get install wrk): %v: %s", err, out)
	}
	if m := non2xxLine.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("wrk saw %s non-2xx answers from %s", m[1], url)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Requests/sec in wrk output: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func mcpLatency(ctx context.Context, url, token string, n int) (time.Duration, time.Duration, error) {
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return 0, 0, err
	}
	init := mcpgo.InitializeRequest{}
	init.Params.ProtocolVersion = mcpgo.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcpgo.Implementation{Name: "loadrun", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return 0, 0, err
	}
	req := mcpgo.CallToolRequest{}
	req.Params.Name = tools.ToolGetTenant
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n+100; i++ {
		start := time.Now()
		res, err := c.CallTool(ctx, req)
		if err != nil || res.IsError {
			return 0, 0, fmt.Errorf("tools/call: %v %+v", err, res)
		}
		if i >= 100 { // the first hundred warm up
			lat = append(lat, time.Since(start))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}
