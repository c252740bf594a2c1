package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gpubroker/pod/mail"
)

const mailColumns = `id, tenant_id, to_addr, kind, subject, text_body, html_body, links, created_at, delivered_at, sender`

func scanMail(row rowScanner) (mail.Record, error) {
	var r mail.Record
	var kind, links string
	if err := row.Scan(&r.ID, &r.TenantID, &r.To, &kind, &r.Subject, &r.Text, &r.HTML, &links, &r.CreatedAt,
		&r.DeliveredAt, &r.Sender); err != nil {
		return r, err
	}
	r.Kind, r.CreatedAt, r.DeliveredAt = mail.Kind(kind), r.CreatedAt.UTC(), r.DeliveredAt.UTC()
	if err := json.Unmarshal([]byte(links), &r.Links); err != nil {
		return r, fmt.Errorf("decode the links of mail %s: %w", r.ID, err)
	}
	return r, nil
}

// PutMail stores a delivered message unless one with its id is stored
// already, and reports whether it stored it: a redelivered message changes
// nothing and is told so.
func (s *Store) PutMail(ctx context.Context, r mail.Record) (bool, error) {
	links := r.Links
	if links == nil {
		links = []mail.Link{}
	}
	b, err := json.Marshal(links)
	if err != nil {
		return false, fmt.Errorf("encode the links of mail %s: %w", r.ID, err)
	}
	res, err := s.exec(ctx, `INSERT INTO mail_messages (`+mailColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO NOTHING`,
		r.ID, r.TenantID, r.To, string(r.Kind), r.Subject, r.Text, r.HTML, string(b), r.CreatedAt.UTC(), r.DeliveredAt.UTC(), r.Sender)
	if err != nil {
		return false, fmt.Errorf("store mail %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store mail %s: %w", r.ID, err)
	}
	return n == 1, nil
}

// MailDelivered reports whether the message with this id is stored, that
// is, delivered.
func (s *Store) MailDelivered(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM mail_messages WHERE id = $1`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("read mail %s: %w", id, err)
	}
	return n > 0, nil
}

// ListMail returns a tenant's delivered mail that f selects, newest first.
func (s *Store) ListMail(ctx context.Context, f mail.Filter) ([]mail.Record, error) {
	args := []any{f.TenantID}
	q := `SELECT ` + mailColumns + ` FROM mail_messages WHERE tenant_id = $1`
	if f.To != "" {
		args = append(args, f.To)
		q += fmt.Sprintf(" AND to_addr = $%d", len(args))
	}
	if f.Kind != "" {
		args = append(args, string(f.Kind))
		q += fmt.Sprintf(" AND kind = $%d", len(args))
	}
	return listNewest(ctx, s, "mail", q, args, f.Limit, scanMail)
}
