// Package memory is what the procurement agent remembers per tenant
// across conversations: short texts found again by their words. It holds
// the vocabulary and the matching rule; the store keeps the memos and the
// agent's memory tools use them.
package memory

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Memo is one thing remembered.
type Memo struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	Text      string    `json:"text"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps the memos; the store implements it.
type Store interface {
	SaveMemory(ctx context.Context, m Memo) error
	// FindMemories answers the tenant's memos holding the most of words
	// (as Words makes them), at most limit, the best and newest first.
	FindMemories(ctx context.Context, tenantID string, words []string, limit int) ([]Memo, error)
	// ForgetMemory removes one memo of the tenant, reporting whether it
	// was there.
	ForgetMemory(ctx context.Context, tenantID, id string) (bool, error)
}

// Words are the lowered words of text (letters and digits, two or more),
// each once, in order: what memos are matched by.
func Words(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		if len(w) > 1 && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
