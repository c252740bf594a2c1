package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tools"
)

// Priced carries amounts, bare and behind a pointer.
type Priced struct {
	Price   money.Amount  `json:"price" jsonschema:"price per hour"`
	Ceiling *money.Amount `json:"ceiling,omitempty"`
}

func TestMoneyIsADecimalStringInSchemas(t *testing.T) {
	r := tools.NewRegistry(tools.Deps{})
	tools.MustRegister(r, tools.Def[Priced, Priced]{
		Name: "priced", Description: "Echo a price.", Group: "test", MinRole: actor.RoleUser, ReadOnly: true, Method: http.MethodGet,
		Handle: func(_ context.Context, _ *tools.Call, in *Priced) (Priced, error) { return *in, nil },
	})
	m, _ := r.Tool("priced")
	var s struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Pattern     string `json:"pattern"`
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(m.OutputSchema, &s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field, desc string
		typ         any
	}{
		{"price", "price per hour", "string"},
		{"ceiling", "amount in USD as a decimal string with up to 6 decimals", []any{"null", "string"}},
	} {
		t.Run(tc.field+" is a string with the amount pattern", func(t *testing.T) {
			p := s.Properties[tc.field]
			if b, _ := json.Marshal(p.Type); string(b) != mustJSON(tc.typ) || p.Pattern != money.Pattern || p.Description != tc.desc {
				t.Fatalf("schema of %s = %+v; want type %v, pattern %s, description %q", tc.field, p, tc.typ, money.Pattern, tc.desc)
			}
		})
	}
	t.Run("the pattern admits what amounts write", func(t *testing.T) {
		re := regexp.MustCompile(s.Properties["price"].Pattern)
		for _, a := range []money.Amount{0, money.Micro, -money.Cent, 1234 * money.Dollar, money.Max} {
			b, _ := json.Marshal(a)
			var text string
			_ = json.Unmarshal(b, &text)
			if !re.MatchString(text) {
				t.Errorf("the pattern refuses %s", b)
			}
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
