package api_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gpubroker/pod/api"
	"github.com/gpubroker/pod/platformtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update, so a
// change to a tool's contract or the API document shows up in review.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./api -update to create it)", err)
	}
	if d := lineDiff(string(want), string(got)); d != "" {
		t.Fatalf("%s changed (- snapshot, + now); review the difference and run go test ./api -update if it is intended:\n%s", path, d)
	}
}

func TestToolSchemasMatchTheirSnapshots(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	for _, m := range p.Registry.Tools() {
		t.Run(m.Name, func(t *testing.T) {
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("tools", m.Name+".json"), append(b, '\n'))
		})
	}
}

func TestOpenAPIDocumentMatchesItsSnapshot(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	b, err := json.MarshalIndent(api.OpenAPI(p.Registry.Tools(), "test"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "openapi.json", append(b, '\n'))
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	_ = json.Unmarshal(b, &doc)
	if doc.OpenAPI != "3.1.0" || doc.Paths["/parameters/{key}"]["put"] == nil || doc.Paths["/tenants"]["post"] == nil {
		t.Fatalf("document lacks expected operations: %v", doc.Paths)
	}
}
