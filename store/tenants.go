package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/tenant"
)

const tenantCols = `id, name, mode, created_at, updated_at`

func scanTenant(row interface{ Scan(...any) error }) (tenant.Tenant, error) {
	var t tenant.Tenant
	var m string
	if err := row.Scan(&t.ID, &t.Name, &m, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, err
	}
	t.Mode = mode.Mode(m)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// CreateTenant inserts t and its audit record.
func (s *Store) CreateTenant(ctx context.Context, t tenant.Tenant, rec audit.Record) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, t.Name, string(t.Mode), t.CreatedAt.UTC(), t.UpdatedAt.UTC())
		if isUniqueViolation(err) {
			return fault.Conflict("tenant %q already exists", t.ID)
		}
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", t.ID, err)
		}
		if err := bumpParamRevision(ctx, s, tx); err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, rec)
		return err
	})
}

func (s *Store) tenantIn(ctx context.Context, x execer, id string) (tenant.Tenant, error) {
	t, err := scanTenant(x.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fault.NotFound("tenant", id)
	}
	if err != nil {
		return t, fmt.Errorf("read tenant %s: %w", id, err)
	}
	return t, nil
}

// Tenant reads one tenant.
func (s *Store) Tenant(ctx context.Context, id string) (tenant.Tenant, error) {
	return s.tenantIn(ctx, s.db, id)
}

// TenantExists reports whether a tenant exists.
func (s *Store) TenantExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM tenants WHERE id = $1`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("check tenant %s: %w", id, err)
	}
	return n > 0, nil
}

// Tenants lists every tenant by id.
func (s *Store) Tenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.query(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []tenant.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("scan tenant: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RenameTenant changes the display name.
func (s *Store) RenameTenant(ctx context.Context, id, name string, rec audit.Record) (tenant.Tenant, error) {
	var t tenant.Tenant
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET name = $1, updated_at = $2 WHERE id = $3`, name, now(), id)
		if err != nil {
			return fmt.Errorf("rename tenant %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound("tenant", id)
		}
		t, err = s.tenantChanged(ctx, tx, id, rec)
		return err
	})
	return t, err
}

// tenantChanged finishes a tenant update inside its transaction: every
// instance must reload tenants (revision bump), the change is audited, and
// the tenant is read back as it now is.
func (s *Store) tenantChanged(ctx context.Context, tx *sql.Tx, id string, rec audit.Record) (tenant.Tenant, error) {
	if err := bumpParamRevision(ctx, s, tx); err != nil {
		return tenant.Tenant{}, err
	}
	if _, err := appendAudit(ctx, tx, rec); err != nil {
		return tenant.Tenant{}, err
	}
	return s.tenantIn(ctx, tx, id)
}

// DeleteTenant removes a tenant, its users and its parameter values, and
// bumps the parameter revision so every instance drops those values.
func (s *Store) DeleteTenant(ctx context.Context, id string, rec audit.Record) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM param_values WHERE tenant_id = $1`, id); err != nil {
			return fmt.Errorf("delete tenant %s parameters: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = $1`, id); err != nil {
			return fmt.Errorf("delete tenant %s users: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete tenant %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.NotFound("tenant", id)
		}
		if err := bumpParamRevision(ctx, s, tx); err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, rec)
		return err
	})
}

// SwitchTenantMode moves a tenant from one mode to another, refusing when
// another caller switched it first.
func (s *Store) SwitchTenantMode(ctx context.Context, id string, from, to mode.Mode, rec audit.Record) (tenant.Tenant, error) {
	var t tenant.Tenant
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET mode = $1, updated_at = $2 WHERE id = $3 AND mode = $4`,
			string(to), now(), id, string(from))
		if err != nil {
			return fmt.Errorf("switch tenant %s mode: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.tenantIn(ctx, tx, id); err != nil {
				return err
			}
			return fault.Conflict("tenant %s is no longer in %s mode; reload and try again", id, from)
		}
		t, err = s.tenantChanged(ctx, tx, id, rec)
		return err
	})
	return t, err
}
