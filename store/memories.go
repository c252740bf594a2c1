package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/gpubroker/pod/memory"
)

// SaveMemory stores what the agent remembers.
func (s *Store) SaveMemory(ctx context.Context, m memory.Memo) error {
	if _, err := s.exec(ctx, `INSERT INTO agent_memories (id, tenant_id, text, words, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, m.TenantID, m.Text, " "+strings.Join(memory.Words(m.Text), " ")+" ", m.CreatedBy, m.CreatedAt.UTC()); err != nil {
		return fmt.Errorf("save memory %s: %w", m.ID, err)
	}
	return nil
}

// FindMemories answers the tenant's memos that hold any of words, the
// ones holding most of them first, then the newest. A word matches a
// whole word of the memo or its start ("gpu" finds "gpus").
func (s *Store) FindMemories(ctx context.Context, tenantID string, words []string, limit int) ([]memory.Memo, error) {
	if len(words) == 0 {
		return nil, nil
	}
	if len(words) > 16 {
		words = words[:16]
	}
	args := []any{tenantID}
	var score, either []string
	for _, w := range words {
		args = append(args, "% "+escapeLike(w)+"%")
		cond := fmt.Sprintf("words LIKE $%d ESCAPE '\\'", len(args))
		score = append(score, "CASE WHEN "+cond+" THEN 1 ELSE 0 END")
		either = append(either, cond)
	}
	args = append(args, limit)
	rows, err := s.query(ctx, `SELECT id, tenant_id, text, created_by, created_at FROM agent_memories
		WHERE tenant_id = $1 AND (`+strings.Join(either, " OR ")+`)
		ORDER BY (`+strings.Join(score, " + ")+`) DESC, created_at DESC, id DESC LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("find memories: %w", err)
	}
	defer rows.Close()
	var out []memory.Memo
	for rows.Next() {
		var m memory.Memo
		if err := rows.Scan(&m.ID, &m.TenantID, &m.Text, &m.CreatedBy, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan memory: %w", err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// ForgetMemory removes one memo of the tenant.
func (s *Store) ForgetMemory(ctx context.Context, tenantID, id string) (bool, error) {
	res, err := s.exec(ctx, `DELETE FROM agent_memories WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return false, fmt.Errorf("forget memory %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// escapeLike escapes LIKE's wildcards in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
