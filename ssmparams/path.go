package ssmparams

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

// DefaultPrefix is the root of every name when New is given no prefix.
const DefaultPrefix = "/gpubroker"

// EmptyValue is what is stored for the value "": SSM rejects empty strings
// and Secrets Manager needs a value to create a version. A stored EmptyValue
// loads as "", and writing EmptyValue itself is refused.
const EmptyValue = "<empty>"

// allModes is the {mode} segment of a value that applies to both modes.
const allModes = "all"

// Path returns the SSM name for a scope and key. The Secrets Manager name is
// the same without the leading slash. The prefix is cleaned the way New
// cleans it, so Path("", sc, key) starts with DefaultPrefix.
func Path(prefix string, sc params.Scope, key string) string {
	m := allModes
	if sc.Mode != "" {
		m = string(sc.Mode)
	}
	if sc.TenantID == "" {
		return cleanPrefix(prefix) + "/global/" + m + "/" + key
	}
	return cleanPrefix(prefix) + "/tenants/" + sc.TenantID + "/" + m + "/" + key
}

// cleanPrefix gives the prefix one leading slash and no trailing one; an
// empty or root prefix means DefaultPrefix.
func cleanPrefix(prefix string) string {
	p := strings.Trim(prefix, "/")
	if p == "" {
		return DefaultPrefix
	}
	return "/" + p
}

// secretName turns an SSM name into the Secrets Manager name.
func secretName(path string) string { return strings.TrimPrefix(path, "/") }

var errLayout = errors.New("want {prefix}/global/{mode}/{key} or {prefix}/tenants/{tenant}/{mode}/{key}")

// parseName is the inverse of Path for a cleaned prefix.
func parseName(prefix, name string) (params.Scope, string, error) {
	rest, ok := strings.CutPrefix(name, prefix+"/")
	if !ok {
		return params.Scope{}, "", fmt.Errorf("not under %s", prefix)
	}
	parts := strings.Split(rest, "/")
	var sc params.Scope
	switch {
	case len(parts) == 3 && parts[0] == "global":
		parts = parts[1:]
	case len(parts) == 4 && parts[0] == "tenants" && parts[1] != "":
		sc.TenantID = parts[1]
		parts = parts[2:]
	default:
		return params.Scope{}, "", errLayout
	}
	switch m := mode.Mode(parts[0]); {
	case m == allModes:
	case m.Valid():
		sc.Mode = m
	default:
		return params.Scope{}, "", fmt.Errorf("mode segment %q: want SANDBOX, LIVE or all", parts[0])
	}
	if parts[1] == "" {
		return params.Scope{}, "", errLayout
	}
	return sc, parts[1], nil
}

func encode(v string) string {
	if v == "" {
		return EmptyValue
	}
	return v
}

func decode(v string) string {
	if v == EmptyValue {
		return ""
	}
	return v
}
