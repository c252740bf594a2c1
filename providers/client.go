package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes bounds what is read from a provider (32 MiB: Vast.ai's
// full search answer is a few MiB).
const MaxResponseBytes = 32 << 20

// Client speaks JSON over HTTP to one provider and maps its failures to
// typed errors. Adapters embed one and add their own auth and classifier.
type Client struct {
	Provider string
	BaseURL  string
	HTTP     *http.Client
	// Auth sets the provider's auth headers or query on every request.
	Auth func(*http.Request) error
	// Classify refines the kind of a failed answer from its status and
	// body (for example a 400 that says "insufficient capacity"); it
	// returns "" to keep the default mapping.
	Classify func(status int, body []byte) ErrorKind
}

// NewClient builds a client from an adapter's Config and its documented
// default address.
func NewClient(provider, defaultBase string, cfg Config) *Client {
	base := cfg.BaseURL
	if base == "" {
		base = defaultBase
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{Provider: provider, BaseURL: strings.TrimRight(base, "/"), HTTP: hc}
}

// Request is one call.
type Request struct {
	Op     string // what the adapter was doing, for error messages
	Method string
	Path   string // appended to BaseURL
	Query  url.Values
	Body   any               // marshalled as JSON when not nil
	Form   url.Values        // sent as a form when not nil
	Header map[string]string // extra headers
}

// Do sends the request and decodes a JSON answer into out (when out is not
// nil). It returns the raw body too, for adapters that decode themselves.
func (c *Client) Do(ctx context.Context, r Request, out any) ([]byte, error) {
	u := c.BaseURL + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	var body io.Reader
	ctype := ""
	switch {
	case r.Body != nil:
		b, err := json.Marshal(r.Body)
		if err != nil {
			return nil, &Error{Provider: c.Provider, Op: r.Op, Kind: KindInvalid, Err: err}
		}
		body, ctype = bytes.NewReader(b), "application/json"
	case r.Form != nil:
		body, ctype = strings.NewReader(r.Form.Encode()), "application/x-www-form-urlencoded"
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, &Error{Provider: c.Provider, Op: r.Op, Kind: KindInvalid, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gpubroker-pod")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if c.Auth != nil {
		if err := c.Auth(req); err != nil {
			return nil, &Error{Provider: c.Provider, Op: r.Op, Kind: KindAuth, Err: err}
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &Error{Provider: c.Provider, Op: r.Op, Kind: KindUnavailable, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, &Error{Provider: c.Provider, Op: r.Op, Kind: KindUnavailable, Status: resp.StatusCode, Err: err}
	}
	if len(raw) > MaxResponseBytes {
		return nil, &Error{Provider: c.Provider, Op: r.Op, Kind: KindBadResponse, Status: resp.StatusCode, Message: "answer larger than 32 MiB"}
	}
	if resp.StatusCode >= 300 {
		return raw, c.statusError(r.Op, resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, &Error{Provider: c.Provider, Op: r.Op, Kind: KindBadResponse, Status: resp.StatusCode, Err: err}
		}
	}
	return raw, nil
}

func (c *Client) statusError(op string, resp *http.Response, raw []byte) error {
	e := &Error{Provider: c.Provider, Op: op, Status: resp.StatusCode, Message: ErrorMessage(raw)}
	switch {
	case resp.StatusCode == http.StatusForbidden && ClassifyMessage(e.Message) == KindQuota:
		e.Kind = KindQuota // some APIs refuse over-quota requests as forbidden
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind = KindAuth
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = KindRateLimit
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = KindNotFound
	case resp.StatusCode >= 500:
		e.Kind = KindUnavailable
	default:
		e.Kind = ClassifyMessage(e.Message)
	}
	// A provider's own codes refine its 4xx answers. A 5xx stays
	// unavailable whatever its body says, except for no capacity, which
	// some providers (OCI's "Out of host capacity") answer with a 500.
	if c.Classify != nil {
		if k := c.Classify(resp.StatusCode, raw); k != "" && (resp.StatusCode < 500 || k == KindNoCapacity) {
			e.Kind = k
		}
	}
	return e
}

// ClassifyMessage maps the words providers use in 4xx answers to a kind;
// anything it does not recognise is KindInvalid.
func ClassifyMessage(msg string) ErrorKind {
	m := strings.NewReplacer("_", " ", "-", " ").Replace(strings.ToLower(msg))
	switch {
	case containsAny(m, "quota", "limit exceeded", "exceeds your limit", "spending limit", "instance limit"):
		return KindQuota
	case containsAny(m, "capacity", "out of stock", "no available", "not available", "unavailable", "sold out", "no machines",
		"no instances available", "no longer any instances", "no longer available", "insufficient resources", "not enough stock", "insufficient capacity"):
		return KindNoCapacity
	case containsAny(m, "unauthorized", "unauthenticated", "invalid api key", "invalid token", "forbidden", "permission"):
		return KindAuth
	case containsAny(m, "rate limit", "too many requests"):
		return KindRateLimit
	}
	return KindInvalid
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// ErrorMessage pulls a human message out of the common error body shapes:
// {"error":"…"}, {"error":{"message":"…"}}, {"message":"…"},
// {"detail":"…"}, {"errors":[{"message":"…"}]}; else the body's start.
func ErrorMessage(raw []byte) string {
	var v map[string]any
	if json.Unmarshal(raw, &v) == nil {
		for _, k := range []string{"error", "message", "detail", "errors", "error_description", "msg"} {
			if s := messageOf(v[k]); s != "" {
				return s
			}
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func messageOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		for _, k := range []string{"message", "detail", "title", "code"} {
			if s, ok := x[k].(string); ok && s != "" {
				return s
			}
		}
	case []any:
		if len(x) > 0 {
			return messageOf(x[0])
		}
	}
	return ""
}

// RetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func RetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// BadResponse wraps a decoding failure the adapter found itself.
func BadResponse(provider, op string, format string, args ...any) error {
	return &Error{Provider: provider, Op: op, Kind: KindBadResponse, Err: fmt.Errorf(format, args...)}
}

// IsTimeout reports whether err came from a deadline.
func IsTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded)
}
