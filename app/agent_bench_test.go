package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tools"
)

// reportLatency reports the median and 99th percentile of lat.
func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkDecisionToSlack measures a decision's way from the moment the
// agent proposes it to its message reaching Slack: the decision and its
// event commit, the relay publishes to Kafka (the in-process broker), the
// Slack worker consumes it and posts (to a local Slack API).
func BenchmarkDecisionToSlack(b *testing.B) {
	ctx := context.Background()
	api := newSlackAPI(b)
	a := seededWith(ctx, b, Config{SlackAPIURL: api.srv.GetAPIURL()})
	for key, value := range map[string]string{"slack.enabled": "true", "slack.bot_token": "xoxb-test", "slack.channel": "#agent"} {
		if _, err := a.Params.Set(ctx, actor.System("bench"), params.SetRequest{Scope: params.Scope{TenantID: "default"}, Key: key,
			Value: value, Confirm: "default"}); err != nil {
			b.Fatal(key, err)
		}
	}
	var mu sync.Mutex
	posted := map[string]chan struct{}{}
	api.seen = func(v url.Values) {
		text := v.Get("text")
		id, _, _ := strings.Cut(strings.TrimPrefix(text, "Agent decision "), ":")
		mu.Lock()
		ch := posted[id]
		mu.Unlock()
		if ch != nil && v.Get("ts") == "" { // a post, not an update
			close(ch)
		}
	}
	var lat []time.Duration
	d := decision.Decision{TenantID: "default", TaskID: "task-bench", Step: 1, AdminID: "u-admin", Thoughts: []string{"the run needs an H100"},
		Headline: "Deploy an H100", Tool: "deploy_pod", Args: json.RawMessage(`{"id":"pod_1"}`),
		Preview: decision.Preview{Effect: "deploy pod_1", Cost: money.MustParse("3.20")}, Verdict: decision.Verdict{Allowed: true}}
	for b.Loop() {
		start := time.Now()
		ch := make(chan struct{})
		// The id is known only once proposed; the post cannot come before
		// the relay reads the committed event, which follows the return.
		mu.Lock()
		got, err := a.Decisions.Propose(ctx, d)
		if err != nil {
			mu.Unlock()
			b.Fatal(err)
		}
		posted[got.ID] = ch
		mu.Unlock()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			b.Fatalf("decision %s never reached Slack", got.ID)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}

// BenchmarkConcurrentTasks runs tasks of 100 tenants' agents at once,
// each asked to keep one more A100 running than the round before: the
// builtin planner lists pods and offers, configures and deploys, every
// call a decision through the guarded tools. It reports each task's
// latency and the tasks per second.
func BenchmarkConcurrentTasks(b *testing.B) {
	ctx := context.Background()
	a := seeded(ctx, b)
	setGlobal(ctx, b, a, "agent.approval", "never", "ratelimit.tool_calls_per_minute", "1000000", "budget.monthly_limit_usd", "10000000")
	const tasks = 100
	admins := make([]actor.Actor, tasks)
	for i := range admins {
		id := fmt.Sprintf("t%03d", i)
		if _, err := a.Tenants.Create(ctx, actor.System("bench"), id, "Tenant "+id); err != nil {
			b.Fatal(err)
		}
		admins[i] = actor.Actor{Kind: actor.KindUser, ID: "admin-" + id, TenantID: id, Role: actor.RolePodAdmin}
	}
	var lat []time.Duration
	var total time.Duration
	round := 0
	for b.Loop() {
		round++
		msg := fmt.Sprintf(`{"message":"keep %d × A100-SXM-80GB running below $1000/h"}`, round)
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, admin := range admins {
			wg.Go(func() {
				t0 := time.Now()
				res := a.Tools.Call(ctx, tools.Request{Actor: admin, Face: audit.FaceDirect, Tool: tools.ToolSendAgentMessage,
					Input: []byte(msg)})
				if res.Err != nil {
					b.Error(res.Err)
					return
				}
				if out := res.Output.(tools.AgentReply).Outcome; out == nil || out.Ending != "responded" {
					b.Errorf("task of %s: %+v", admin.TenantID, out)
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			})
		}
		wg.Wait()
		total += time.Since(start)
	}
	reportLatency(b, lat)
	b.ReportMetric(float64(len(lat))/total.Seconds(), "tasks/s")
}

// BenchmarkDecisionToConsole measures a decision's way from the moment
// the agent proposes it to its arrival on an open console page: the
// decision and its event commit, the relay publishes to Kafka (the
// in-process broker), the realtime consumer hands it to the hub, and the
// hub writes it to the WebSocket the page's decisions.js holds (signed
// in by an admin's session cookie, following the agent channel). It
// stops at the socket: drawing the row is the browser's.
func BenchmarkDecisionToConsole(b *testing.B) {
	ctx := context.Background()
	a := seededWith(ctx, b, Config{})
	const email, password = "console@example.com", "steady-orbit-lantern-58"
	if _, err := a.Identity.CreateUser(ctx, actor.System("bench"), auth.NewUser{TenantID: "default", Email: email, Name: "Ops",
		Role: actor.RolePodAdmin, Password: password, Verified: true}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + "/signin")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := csrfField.FindSubmatch(page)
	if token == nil {
		b.Fatal("no CSRF token on the sign-in page")
	}
	if resp, err = c.PostForm(srv.URL+"/signin", url.Values{"csrf": {string(token[1])}, "email": {email}, "password": {password}}); err != nil ||
		resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("signing in: %v %v", resp, err)
	}
	resp.Body.Close()
	base, _ := url.Parse(srv.URL)
	var cookies []string
	for _, k := range jar.Cookies(base) {
		cookies = append(cookies, k.Name+"="+k.Value)
	}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Cookie": {strings.Join(cookies, "; ")}, "Origin": {srv.URL}}})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channel":"agent"}`)); err != nil {
		b.Fatal(err)
	}
	type frame struct {
		Type string `json:"type"`
		Data struct {
			Decision struct {
				ID string `json:"id"`
			} `json:"decision"`
		} `json:"data"`
	}
	read := func(want string) {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for {
			_, msg, err := ws.Read(rctx)
			if err != nil {
				b.Fatalf("waiting for %s: %v", want, err)
			}
			var f frame
			if json.Unmarshal(msg, &f) == nil && (f.Type == want || f.Data.Decision.ID == want) {
				return
			}
		}
	}
	read("subscribed")
	d := decision.Decision{TenantID: "default", TaskID: "task-bench", Step: 1, AdminID: "u-admin", Thoughts: []string{"the run needs an H100"},
		Headline: "Deploy an H100", Tool: "deploy_pod", Args: json.RawMessage(`{"id":"pod_1"}`),
		Preview: decision.Preview{Effect: "deploy pod_1", Cost: money.MustParse("3.20")}, Verdict: decision.Verdict{Allowed: true}}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		got, err := a.Decisions.Propose(ctx, d)
		if err != nil {
			b.Fatal(err)
		}
		read(got.ID)
		lat = append(lat, time.Since(start))
	}
	reportLatency(b, lat)
}
