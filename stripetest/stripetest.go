// Package stripetest runs stripe-mock, Stripe's API simulator, for the
// tests of one package: started on first use on ports of loopback the
// kernel chooses, stopped when the package's tests end (Main), and killed
// with the test binary should it die first. stripe-mock answers every
// request from fixtures after validating it against Stripe's OpenAPI
// spec; it keeps no state. `make test-deps` installs it. Under CI=true a
// missing stripe-mock fails the test; elsewhere it is skipped with a
// message.
package stripetest

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the stripe-mock release the tests are written against.
const Version = "v0.203.0"

// startTimeout bounds how long stripe-mock may take to listen; lifetime
// bounds how long it runs at all, should nothing stop it.
const (
	startTimeout = 30 * time.Second
	lifetime     = 15 * time.Minute
)

var (
	mu      sync.Mutex
	running *server
	failed  error
)

type server struct {
	cmd   *exec.Cmd
	url   string
	done  chan struct{}
	timer *time.Timer
}

// Main runs the package's tests, then stops the stripe-mock they started:
// call it from TestMain as os.Exit(stripetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// URL returns the HTTP URL of the package's stripe-mock, starting it on
// first use.
func URL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if running == nil && failed == nil {
		running, failed = start()
	}
	if failed != nil {
		if errors.Is(failed, errNotInstalled) && os.Getenv("CI") != "true" {
			t.Skipf("%v", failed)
		}
		t.Fatalf("stripe-mock is required: %v", failed)
	}
	return running.url
}

// Stop kills the package's stripe-mock, if it runs, and waits for it.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if running != nil {
		running.stop()
		running = nil
	}
}

var errNotInstalled = fmt.Errorf("stripe-mock is not on PATH nor in $(go env GOPATH)/bin: run make test-deps "+
	"(go install github.com/stripe/stripe-mock@%s)", Version)

// binary finds stripe-mock where go install puts it.
func binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	dirs := []string{os.Getenv("GOBIN")}
	for _, p := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errNotInstalled
}

func start() (*server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- strings.TrimSpace(a)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.done:
		return nil, fmt.Errorf("%s exited before listening", bin)
	case <-time.After(startTimeout):
		s.stop()
		return nil, fmt.Errorf("%s did not listen within %s", bin, startTimeout)
	}
	s.timer = time.AfterFunc(lifetime, func() { _ = cmd.Process.Kill() })
	return s, nil
}

func (s *server) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
