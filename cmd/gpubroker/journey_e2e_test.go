package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// rest calls the running binary's REST face and decodes the answer into
// out, failing unless the status is want.
func rest(t *testing.T, base, token, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

func login(t *testing.T, base, email, password string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	rest(t, base, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &tok)
	return tok.AccessToken
}

// pod is what the journey reads of a pod.
type pod struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Reason     string `json:"reason"`
	Connection *struct {
		SSHHost    string `json:"ssh_host"`
		SSHPort    int    `json:"ssh_port"`
		SSHCommand string `json:"ssh_command"`
		JupyterURL string `json:"jupyter_url"`
	} `json:"connection"`
}

type mailbox struct {
	Messages []struct {
		To      string `json:"to"`
		Kind    string `json:"kind"`
		Subject string `json:"subject"`
		Text    string `json:"text"`
		Links   []struct {
			Label string `json:"label"`
			URL   string `json:"url"`
		} `json:"links"`
	} `json:"messages"`
}

// activationToken waits for pod id's activation mail and follows its link
// to the token.
func activationToken(t *testing.T, read func() mailbox, id string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range read().Messages {
			for _, l := range m.Links {
				if m.Kind == "activation" && strings.Contains(l.URL, "/pods/"+id+"/activate?") {
					u, err := url.Parse(l.URL)
					if err != nil {
						t.Fatal(err)
					}
					return u.Query().Get("token")
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no activation mail for pod %s arrived: %+v", id, read())
	return ""
}

func hasMail(box mailbox, kind, text string) bool {
	for _, m := range box.Messages {
		if m.Kind == kind && strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

const journeyConfig = `{"name":"%s","gpu":"A100-SXM-80GB","gpu_count":1,"provider":"auto","vcpu":8,"ram_gib":64,"disk_gib":100,` +
	`"image":"jupyter-pytorch-2.5","pricing":"on_demand"}`

// TestThePodJourneyOverRESTAndMCP: on the running binary with its embedded
// defaults, a user subscribes to PRO, configures a pod, deploys it, finds the activation mail
// in the SANDBOX mailbox, activates the pod with the link's token and gets
// it running with connection details and a confirmation mail: once
// through REST and once through MCP.
func TestThePodJourneyOverRESTAndMCP(t *testing.T) {
	data := t.TempDir()
	s := start(t, data)
	pw, err := os.ReadFile(filepath.Join(data, "initial-admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	admin := login(t, s.url, "admin@gpubroker.local", strings.TrimSpace(string(pw)))
	rest(t, s.url, admin, http.MethodPost, "/api/v1/users", map[string]string{"email": "ana@example.com", "name": "Ana",
		"role": "user", "password": "correct-horse-42"}, http.StatusCreated, nil)
	ana := login(t, s.url, "ana@example.com", "correct-horse-42")
	// FREE deploys no A100 and one pod at once: Ana pays for PRO first,
	// with the SANDBOX processor's test card.
	var setup struct {
		SetupIntent string `json:"setup_intent_id"`
	}
	rest(t, s.url, ana, http.MethodPost, "/api/v1/billing/setup", map[string]any{}, http.StatusCreated, &setup)
	rest(t, s.url, ana, http.MethodPost, "/api/v1/billing/setup/confirm", map[string]string{"setup_intent_id": setup.SetupIntent,
		"card_number": "4242 4242 4242 4242"}, http.StatusOK, nil)
	rest(t, s.url, ana, http.MethodPost, "/api/v1/billing/subscription", map[string]string{"plan": "pro", "interval": "monthly"},
		http.StatusCreated, nil)
	readMail := func() mailbox {
		var box mailbox
		rest(t, s.url, ana, http.MethodGet, "/api/v1/mailbox", nil, http.StatusOK, &box)
		return box
	}

	t.Run("through REST", func(t *testing.T) {
		var draft struct{ Pod pod }
		var cfg map[string]any
		_ = json.Unmarshal(fmt.Appendf(nil, journeyConfig, "rest-pod"), &cfg)
		rest(t, s.url, ana, http.MethodPost, "/api/v1/pods", cfg, http.StatusCreated, &draft)
		var dep struct{ Pod pod }
		rest(t, s.url, ana, http.MethodPost, "/api/v1/pods/"+draft.Pod.ID+"/deploy", map[string]any{}, http.StatusAccepted, &dep)
		if dep.Pod.State != "pending" {
			t.Fatalf("deployed: %+v", dep.Pod)
		}
		token := activationToken(t, readMail, draft.Pod.ID)
		rest(t, s.url, ana, http.MethodPost, "/api/v1/pods/"+draft.Pod.ID+"/activate", map[string]string{"token": "wrong"}, http.StatusUnauthorized, nil)
		var run pod
		rest(t, s.url, ana, http.MethodPost, "/api/v1/pods/"+draft.Pod.ID+"/activate", map[string]string{"token": token}, http.StatusOK, &run)
		if run.State != "running" || run.Connection == nil || run.Connection.SSHHost == "" || run.Connection.JupyterURL == "" {
			t.Fatalf("activated: %+v", run)
		}
		rest(t, s.url, ana, http.MethodPost, "/api/v1/pods/"+draft.Pod.ID+"/activate", map[string]string{"token": token}, http.StatusGone, nil)
		waitFor(t, func() bool { return hasMail(readMail(), "activated", run.Connection.SSHHost) }, "the confirmation mail")
	})

	t.Run("through MCP", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, err := client.NewStreamableHttpClient(s.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + ana}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		initialize(t, c)
		call := func(name string, args map[string]any, out any) {
			t.Helper()
			req := mcpgo.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = name, args
			res, err := c.CallTool(ctx, req)
			if err != nil || res.IsError {
				t.Fatalf("%s: %+v %v", name, res, err)
			}
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v: %s", name, err, b)
			}
		}
		var cfg map[string]any
		_ = json.Unmarshal(fmt.Appendf(nil, journeyConfig, "mcp-pod"), &cfg)
		var draft struct{ Pod pod }
		call("configure_pod", cfg, &draft)
		var dep struct{ Pod pod }
		call("deploy_pod", map[string]any{"id": draft.Pod.ID}, &dep)
		token := activationToken(t, func() mailbox {
			var box mailbox
			call("list_mail", map[string]any{}, &box)
			return box
		}, draft.Pod.ID)
		var run pod
		call("activate_pod", map[string]any{"id": draft.Pod.ID, "token": token}, &run)
		if run.State != "running" || run.Connection == nil || !strings.HasPrefix(run.Connection.SSHCommand, "ssh -p ") {
			t.Fatalf("activated: %+v", run)
		}
		var got pod
		call("get_pod", map[string]any{"id": draft.Pod.ID}, &got)
		if got.State != "running" || got.Connection == nil || got.Connection.SSHHost != run.Connection.SSHHost {
			t.Fatalf("get_pod after activation: %+v", got)
		}
	})
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("%s never came", what)
}
