package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tools"
)

// MaxBody bounds a JSON request body.
const MaxBody = 1 << 20

// toolRoute serves one tool at its REST route: it assembles the input from
// the body, the path and the query (typed by the tool's schema), calls the
// registry and encodes the output.
type toolRoute struct {
	reg    *tools.Registry
	meta   tools.Meta
	params []string          // path parameter names
	types  map[string]string // input property → JSON Schema type
	log    *slog.Logger
}

func newToolRoute(reg *tools.Registry, m tools.Meta, log *slog.Logger) *toolRoute {
	tr := &toolRoute{reg: reg, meta: m, types: map[string]string{}, log: log}
	for _, seg := range strings.Split(m.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			tr.params = append(tr.params, seg[1:len(seg)-1])
		}
	}
	var schema struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(m.InputSchema, &schema)
	for name, p := range schema.Properties {
		switch t := p.Type.(type) {
		case string:
			tr.types[name] = t
		case []any: // ["null","array"] and the like
			for _, x := range t {
				if s, ok := x.(string); ok && s != "null" {
					tr.types[name] = s
				}
			}
		}
	}
	return tr
}

func (tr *toolRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, _ := actor.From(r.Context())
	input, err := tr.input(r)
	if err != nil {
		writeProblem(w, r, tr.log, err)
		return
	}
	res := tr.reg.Call(r.Context(), tools.Request{Actor: a, Face: audit.FaceREST, RequestID: middleware.GetReqID(r.Context()),
		Tool: tr.meta.Name, Input: input})
	if res.Err != nil {
		writeProblem(w, r, tr.log, res.Err)
		return
	}
	st := tr.meta.Status
	if st == 0 {
		st = http.StatusOK
	}
	writeJSON(w, st, res.Output)
}

// input merges body fields, path parameters and query parameters into one
// JSON object. A field given twice with different values is refused.
func (tr *toolRoute) input(r *http.Request) (json.RawMessage, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return tr.inputNoBody(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return tr.inputNoBody(r)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, fault.Malformed("", "want Content-Type application/json, got %q", ct)
	}
	obj := map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil {
		return nil, fault.Malformed("", "the body must be one JSON object: %v", err)
	}
	if dec.More() {
		return nil, fault.Malformed("", "unexpected data after the JSON object")
	}
	err = tr.eachParam(r, func(name string, v json.RawMessage) error {
		if old, dup := obj[name]; dup && !bytes.Equal(old, v) {
			return fault.Malformed(name, "given twice with different values")
		}
		obj[name] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

// inputNoBody serves the common read: no body, so the object is written
// straight from the path and query, without a map in between.
func (tr *toolRoute) inputNoBody(r *http.Request) (json.RawMessage, error) {
	buf := make([]byte, 0, 64)
	buf = append(buf, '{')
	var seen []string
	var vals []json.RawMessage
	err := tr.eachParam(r, func(name string, v json.RawMessage) error {
		for i, n := range seen {
			if n == name {
				if !bytes.Equal(vals[i], v) {
					return fault.Malformed(name, "given twice with different values")
				}
				return nil
			}
		}
		seen, vals = append(seen, name), append(vals, v)
		if len(seen) > 1 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, name)
		buf = append(buf, ':')
		buf = append(buf, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(buf, '}'), nil
}

// eachParam yields every path and query parameter, typed by the schema.
func (tr *toolRoute) eachParam(r *http.Request, fn func(name string, v json.RawMessage) error) error {
	for _, p := range tr.params {
		v, err := tr.typed(p, chi.URLParam(r, p))
		if err != nil {
			return err
		}
		if err := fn(p, v); err != nil {
			return err
		}
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	for name, vals := range r.URL.Query() {
		if _, known := tr.types[name]; !known {
			return fault.Malformed(name, "unknown query parameter")
		}
		v, err := tr.typed(name, vals[len(vals)-1])
		if err != nil {
			return err
		}
		if err := fn(name, v); err != nil {
			return err
		}
	}
	return nil
}

// typed encodes a path or query string as the JSON type the input schema
// declares for name.
func (tr *toolRoute) typed(name, raw string) (json.RawMessage, error) {
	switch tr.types[name] {
	case "integer":
		if _, err := strconv.ParseInt(raw, 10, 64); err != nil {
			return nil, fault.Malformed(name, "want an integer, got %q", raw)
		}
		return json.RawMessage(raw), nil
	case "number":
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			return nil, fault.Malformed(name, "want a number, got %q", raw)
		}
		return json.RawMessage(raw), nil
	case "boolean":
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fault.Malformed(name, "want true or false, got %q", raw)
		}
		return json.Marshal(b)
	}
	return json.Marshal(raw)
}
