package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/stripetest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gpubroker-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gpubroker")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := stripetest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running gpubroker process.
type server struct {
	cmd    *exec.Cmd
	url    string
	banner []string
	done   chan error
}

func env(data string, extra ...string) []string {
	e := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GPUBROKER_DATA=" + data,
		"GPUBROKER_ADDR=127.0.0.1:0", "GPUBROKER_LOG_LEVEL=warn"}
	return append(e, extra...)
}

var urlLine = regexp.MustCompile(`running at (http://127\.0\.0\.1:\d+)`)

func start(t *testing.T, data string, extra ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Env = env(data, extra...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	deadline := time.After(30 * time.Second)
	for s.url == "" || len(s.banner) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before printing its URL: %v", s.banner)
			}
			s.banner = append(s.banner, l)
			if m := urlLine.FindStringSubmatch(l); m != nil {
				s.url = m[1]
			}
		case <-deadline:
			t.Fatal("server did not print its URL within 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// stop sends SIGINT and returns the exit error and how long it took.
func (s *server) stop(t *testing.T) (time.Duration, error) {
	t.Helper()
	began := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		return time.Since(began), err
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop within 10s of SIGINT")
	}
	return 0, nil
}

func TestServeStartsSeedsAndStopsCleanly(t *testing.T) {
	data := t.TempDir()
	s := start(t, data)
	if !strings.Contains(strings.Join(s.banner, "\n"), "Admin login: admin@gpubroker.local / ") {
		t.Fatalf("banner has no admin login: %q", s.banner)
	}
	pwFile := filepath.Join(data, "initial-admin-password")
	if fi, err := os.Stat(pwFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(data, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	resp, err := http.Get(s.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["status"] != "ok" {
		t.Fatalf("healthz = %d %v", resp.StatusCode, body)
	}
	took, err := s.stop(t)
	if err != nil {
		t.Fatalf("exit after SIGINT = %v, want status 0", err)
	}
	if took > 5*time.Second {
		t.Fatalf("shutdown took %s, want under 5s", took)
	}
	t.Logf("stopped %s after SIGINT", took.Round(time.Millisecond))

	t.Run("a second start keeps the data and prints no new password", func(t *testing.T) {
		s := start(t, data)
		joined := strings.Join(s.banner, "\n")
		if strings.Contains(joined, "admin@gpubroker.local / ") || !strings.Contains(joined, pwFile) {
			t.Fatalf("banner = %q", s.banner)
		}
		if _, err := s.stop(t); err != nil {
			t.Fatal(err)
		}
	})
}

func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	s := start(t, t.TempDir())
	// Hold a connection open mid-request: the server must not exit before
	// answering it, and must answer it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/healthz", pr)
	got := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	_, _ = pw.Write([]byte("x"))
	time.Sleep(100 * time.Millisecond)
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	pw.Close()
	select {
	case code := <-got:
		if code <= 0 {
			t.Fatalf("in-flight request failed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	if err := <-s.done; err != nil {
		t.Fatalf("exit = %v", err)
	}
}

func TestCorruptKeyFileStopsStartWithAClearMessage(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "master.key"), []byte("not-a-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = env(data)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output %s", err, out)
	}
	if !strings.Contains(string(out), "master.key") || strings.Contains(string(out), "panic") {
		t.Fatalf("output does not name the key file clearly: %s", out)
	}
}

func TestCommands(t *testing.T) {
	data := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = env(data)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("version prints the build version", func(t *testing.T) {
		out, err := run("", "version")
		if err != nil || !strings.HasPrefix(out, "gpubroker ") {
			t.Fatalf("%q %v", out, err)
		}
	})
	t.Run("migrate applies the schema once", func(t *testing.T) {
		all, _ := store.Migrations(store.SQLite)
		out, err := run("", "migrate")
		if err != nil || !strings.Contains(out, "applied 0001_init") || !strings.Contains(out, fmt.Sprintf("schema at version %d (sqlite)", all[len(all)-1].Version)) {
			t.Fatalf("%q %v", out, err)
		}
		out, err = run("", "migrate")
		if err != nil || strings.Contains(out, "applied") {
			t.Fatalf("second migrate: %q %v", out, err)
		}
	})
	t.Run("params import asks for confirmation, then export shows the value", func(t *testing.T) {
		file := `{"format":"gpubroker-params","version":1,"params":[{"key":"billing.markup_percent","value":"22"},
			{"mode":"LIVE","key":"stripe.secret_key","value":"sk_live_cli"}]}`
		out, err := run(file, "params", "import", "-")
		if err == nil || !strings.Contains(out, `-confirm "global"`) {
			t.Fatalf("unconfirmed import: %q %v", out, err)
		}
		out, err = run(file, "params", "import", "-confirm", "global", "-")
		if err != nil || !strings.Contains(out, "imported 2 values") {
			t.Fatalf("import: %q %v", out, err)
		}
		out, err = run("", "params", "export")
		if err != nil || !strings.Contains(out, `"value": "22"`) || strings.Contains(out, "sk_live_cli") || !strings.Contains(out, `"sealed"`) {
			t.Fatalf("export: %q %v", out, err)
		}
	})
	t.Run("a malformed import names the line and applies nothing", func(t *testing.T) {
		out, err := run("{\n\"format\": }", "params", "import", "-")
		if err == nil || !strings.Contains(out, "line 2") {
			t.Fatalf("%q %v", out, err)
		}
	})
	t.Run("an unknown command says so", func(t *testing.T) {
		out, err := run("", "frobnicate")
		if err == nil || !strings.Contains(out, `unknown command "frobnicate"`) {
			t.Fatalf("%q %v", out, err)
		}
	})
}

// TestSyncPlansMakesTheStripePrices: with no tenant served by Stripe
// there is nothing to sync; once the default tenant reads a Stripe test
// key (stripe-mock, which knows no lookup key), every plan price is made,
// and the mock processor is synced when a tenant is named.
func TestSyncPlansMakesTheStripePrices(t *testing.T) {
	data := t.TempDir()
	s := start(t, data) // seeds the default tenant
	if _, err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = env(data)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("", "billing", "sync-plans"); !strings.Contains(out, "nothing to sync") {
		t.Fatalf("without Stripe: %q", out)
	}
	if out := run("", "billing", "sync-plans", "-tenant", "default"); !strings.Contains(out, "default mock: price gpubroker_pro_monthly (29.00 usd monthly) created") {
		t.Fatalf("the mock processor: %q", out)
	}
	run(`{"format":"gpubroker-params","version":1,"params":[{"mode":"SANDBOX","key":"stripe.secret_key","value":"sk_test_cli"},
		{"mode":"SANDBOX","key":"stripe.api_url","value":"`+stripetest.URL(t)+`"}]}`, "params", "import", "-")
	out := run("", "billing", "sync-plans")
	for _, want := range []string{"default stripe: product gpubroker_pro up to date", "default stripe: price gpubroker_pro_monthly (29.00 usd monthly) created",
		"default stripe: price gpubroker_enterprise_annual (1990.00 usd annual) created"} {
		if !strings.Contains(out, want) {
			t.Fatalf("with Stripe: %q lacks %q", out, want)
		}
	}
}
