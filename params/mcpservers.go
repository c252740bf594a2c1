package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gpubroker/pod/mode"
)

// The parameters naming the external MCP servers a tenant's agent may
// call, and the headers (tokens) sent to them.
const (
	ParamMCPServers = "agent.mcp_servers"
	ParamMCPHeaders = "agent.mcp_headers"
)

// MaxMCPServers bounds how many external MCP servers a tenant may name:
// the agent lists every one's tools before each task.
const MaxMCPServers = 16

// mcpServerName is what an external server's name may be. It prefixes its
// tools' names as the agent sees them (<server>__<tool>), so it holds no
// double underscore: the first one splits the two.
var mcpServerName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,30}$`)

// MCPServer is one external MCP server of agent.mcp_servers: a name and
// its Streamable HTTP endpoint.
type MCPServer struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// ParseMCPServers reads a value of agent.mcp_servers: a JSON list of
// servers with unique names and http(s) URLs ("" is no server).
func ParseMCPServers(raw string) ([]MCPServer, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var list []MCPServer
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("want a JSON list of {\"name\", \"url\"}: %w", err)
	}
	if len(list) > MaxMCPServers {
		return nil, fmt.Errorf("at most %d servers, got %d", MaxMCPServers, len(list))
	}
	seen := map[string]bool{}
	for i, s := range list {
		if !mcpServerName.MatchString(s.Name) || strings.Contains(s.Name, "__") {
			return nil, fmt.Errorf("server %d: name %q: want lower-case letters, digits and single underscores (2 to 31, a letter first)", i, s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("server %d: name %q is used twice", i, s.Name)
		}
		seen[s.Name] = true
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("server %s: want an absolute http(s) URL without credentials, got %q", s.Name, s.URL)
		}
	}
	return list, nil
}

// ParseMCPHeaders reads a value of agent.mcp_headers: a JSON object of
// server name to the HTTP headers sent to it ("" is none).
func ParseMCPHeaders(raw string) (map[string]map[string]string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var h map[string]map[string]string
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		// The decoder's message quotes no value, so no secret leaks.
		return nil, fmt.Errorf("want a JSON object of server name to {header: value}: %w", err)
	}
	for server, headers := range h {
		if !mcpServerName.MatchString(server) {
			return nil, fmt.Errorf("server name %q: want lower-case letters, digits and underscores", server)
		}
		for name, v := range headers {
			if !headerName.MatchString(name) || strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("server %s: header %q: want a header name and a one-line value", server, name)
			}
			if c := http.CanonicalHeaderKey(name); c == "Host" || c == "Content-Length" || c == "Mcp-Session-Id" {
				return nil, fmt.Errorf("server %s: header %s is the client's to set", server, c)
			}
		}
	}
	return h, nil
}

// headerName is an HTTP header name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// parsedBy is a rule that holds when parse accepts the value.
func parsedBy[T any](desc string, parse func(string) (T, error)) Rule {
	return Rule{Desc: desc, Check: func(_ mode.Mode, v Value) bool {
		_, err := parse(v.raw)
		return err == nil
	}}
}
