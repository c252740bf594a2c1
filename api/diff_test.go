package api_test

import (
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
)

// lineDiff returns a unified diff of want and got (go-udiff), line by
// line: changed lines prefixed - (want) and + (got), each hunk with three
// lines of context and its line numbers, without the file header. It
// returns "" when they are equal.
func lineDiff(want, got string) string {
	d := udiff.Unified("snapshot", "now", want, got)
	if _, rest, ok := strings.Cut(d, "+++ now\n"); ok {
		return rest
	}
	return d
}

func TestLineDiffShowsTheChangedLines(t *testing.T) {
	tests := []struct {
		name, want, got, diff string
	}{
		{"equal texts give no diff", "a\nb\n", "a\nb\n", ""},
		{"a changed line shows as removed and added", "a\nb\nc\n", "a\nB\nc\n",
			"@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"an added line shows alone", "a\nc\n", "a\nb\nc\n",
			"@@ -1,2 +1,3 @@\n a\n+b\n c\n"},
		{"a removed line shows alone", "a\nb\nc\n", "a\nc\n",
			"@@ -1,3 +1,2 @@\n a\n-b\n c\n"},
		{"context stops three lines away", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nx\n6\n7\n8\n9\n",
			"@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n"},
		{"distant changes make separate hunks", "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			"@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n"},
		{"an empty file gains every line", "", "a\n", "@@ -0,0 +1 @@\n+a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lineDiff(tt.want, tt.got); got != tt.diff {
				t.Fatalf("diff:\n%s\nwant:\n%s", got, tt.diff)
			}
		})
	}
}
