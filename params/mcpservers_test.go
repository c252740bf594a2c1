package params_test

import (
	"strings"
	"testing"

	"github.com/gpubroker/pod/params"
)

func TestExternalMCPServersAreReadOrRefusedWithTheReason(t *testing.T) {
	cases := []struct {
		name, raw string
		want      int
		err       string
	}{
		{"nothing names no server", "", 0, ""},
		{"an empty list names no server", "[]", 0, ""},
		{"two servers are read", `[{"name":"quota","url":"https://q.test/mcp"},{"name":"cmdb_2","url":"http://127.0.0.1:9/mcp"}]`, 2, ""},
		{"a list is wanted", `{"name":"quota"}`, 0, "JSON list"},
		{"an unknown field is refused", `[{"name":"quota","url":"https://q.test","token":"x"}]`, 0, "JSON list"},
		{"a name with a double underscore is refused", `[{"name":"a__b","url":"https://q.test"}]`, 0, "single underscores"},
		{"a capital letter is refused", `[{"name":"Quota","url":"https://q.test"}]`, 0, "lower-case"},
		{"a name used twice is refused", `[{"name":"quota","url":"https://a.test"},{"name":"quota","url":"https://b.test"}]`, 0, "used twice"},
		{"a relative URL is refused", `[{"name":"quota","url":"/mcp"}]`, 0, "absolute http(s) URL"},
		{"credentials in the URL are refused", `[{"name":"quota","url":"https://u:p@q.test"}]`, 0, "without credentials"},
		{"another scheme is refused", `[{"name":"quota","url":"ws://q.test"}]`, 0, "http(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := params.ParseMCPServers(c.raw)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, c.err)
				}
				return
			}
			if err != nil || len(got) != c.want {
				t.Fatalf("got %v, %v; want %d servers", got, err, c.want)
			}
		})
	}
}

func TestExternalMCPHeadersAreReadOrRefusedWithoutTheirValues(t *testing.T) {
	cases := []struct {
		name, raw, err string
	}{
		{"a token per server is read", `{"quota":{"Authorization":"Bearer s3cret"}}`, ""},
		{"a flat object is refused", `{"quota":"Bearer s3cret"}`, "{header: value}"},
		{"a bad header name is refused", `{"quota":{"Bad Header":"s3cret"}}`, "header name"},
		{"a value over two lines is refused", `{"quota":{"X-Token":"s3cret\r\nX-Evil: 1"}}`, "one-line value"},
		{"a header the client sets is refused", `{"quota":{"host":"evil.test"}}`, "client's to set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := params.ParseMCPHeaders(c.raw)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error shows a header's value: %v", err)
			}
		})
	}
}
