package tools

import (
	"encoding/json"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/gpubroker/pod/money"
)

// typeSchemas are the JSON Schemas of types whose JSON form is not what
// their Go kind suggests, so a derived schema states what goes on the wire:
// a money.Amount is an int64 written as a decimal string, and a
// json.RawMessage is any JSON value, not the array of bytes its Go type
// suggests.
var typeSchemas = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): {Description: "any JSON value"},
	reflect.TypeFor[money.Amount](): {Type: "string", Pattern: money.Pattern, Examples: []any{"12.34"},
		Description: "amount in USD as a decimal string with up to 6 decimals"},
}
