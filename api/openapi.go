package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/gpubroker/pod/tools"
)

// OpenAPI builds the OpenAPI 3.1 document of the REST face from the tool
// definitions, so the document and the routes cannot drift apart.
func OpenAPI(metas []tools.Meta, version string) map[string]any {
	paths := map[string]map[string]any{}
	var routes []tools.Meta
	for _, m := range metas {
		for i, r := range m.Routes() {
			if i > 0 {
				r.Name += "_" + strings.ToLower(r.Method)
			}
			routes = append(routes, r)
		}
	}
	for _, m := range routes {
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}
		_ = json.Unmarshal(m.InputSchema, &schema)
		required := map[string]bool{}
		for _, r := range schema.Required {
			required[r] = true
		}
		var parameters []map[string]any
		inPath := map[string]bool{}
		for _, seg := range strings.Split(m.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				inPath[name] = true
				parameters = append(parameters, map[string]any{"name": name, "in": "path", "required": true, "schema": schema.Properties[name]})
			}
		}
		op := map[string]any{
			"operationId": m.Name,
			"summary":     m.Title,
			"description": m.Description,
			"tags":        []string{string(m.Group)},
			"x-min-role":  m.MinRole,
			"responses": map[string]any{
				statusText(m.Status): map[string]any{"description": "success",
					"content": map[string]any{"application/json": map[string]any{"schema": m.OutputSchema}}},
				"default": map[string]any{"description": "problem",
					"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}},
			},
		}
		if m.Method == http.MethodGet || m.Method == http.MethodDelete {
			names := make([]string, 0, len(schema.Properties))
			for n := range schema.Properties {
				if !inPath[n] {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			for _, n := range names {
				parameters = append(parameters, map[string]any{"name": n, "in": "query", "required": required[n], "schema": schema.Properties[n]})
			}
		} else {
			op["requestBody"] = map[string]any{"required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": m.InputSchema}}}
		}
		if len(parameters) > 0 {
			op["parameters"] = parameters
		}
		if m.Public { // open to visitors; a bearer credential is optional
			op["security"] = []map[string]any{{}, {"bearer": []string{}}}
		}
		if paths[m.Path] == nil {
			paths[m.Path] = map[string]any{}
		}
		paths[m.Path][strings.ToLower(m.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "GPUBROKER POD API", "version": version,
			"description": "Every operation is a tool; the same tools are served over MCP at /mcp."},
		"servers":  []map[string]any{{"url": "/api/v1"}},
		"security": []map[string]any{{"bearer": []string{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "an access token (RS256 JWT) or an API token (gpb_…)"}},
			"schemas": map[string]any{"Problem": map[string]any{
				"type": "object", "description": "RFC 9457 problem details",
				"properties": map[string]any{
					"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
					"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
					"instance": map[string]any{"type": "string"}, "rule": map[string]any{"type": "string"},
					"confirm": map[string]any{"type": "string"}, "missing": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
					"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object",
						"properties": map[string]any{"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}},
				}}},
		},
	}
}

func statusText(s int) string {
	switch s {
	case 0, http.StatusOK:
		return "200"
	case http.StatusCreated:
		return "201"
	}
	return "200"
}
