package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tenant"
)

// AdminEmail is the login of the POD Admin created on first start.
const AdminEmail = "admin@gpubroker.local"

// Seeded tells what the first start created, for the start-up banner.
type Seeded struct {
	AdminEmail string
	// AdminPassword is set only on the start that created the admin.
	AdminPassword string
	// PasswordFile keeps the initial password (mode 0600) until the admin
	// changes it, so a restart can point to it.
	PasswordFile string
}

// Seed creates the default tenant and a POD Admin on a fresh installation.
// It is idempotent: later starts change nothing.
func (a *App) Seed(ctx context.Context) (Seeded, error) {
	sys := actor.System("bootstrap")
	out := Seeded{AdminEmail: AdminEmail, PasswordFile: filepath.Join(a.cfg.DataDir, "initial-admin-password")}
	if _, err := a.Tenants.Get(ctx, tenant.DefaultID); fault.KindOf(err) == fault.KindNotFound {
		if _, err := a.Tenants.Create(ctx, sys, tenant.DefaultID, "Default POD"); err != nil && fault.KindOf(err) != fault.KindConflict {
			return out, fmt.Errorf("seed default tenant: %w", err)
		}
	} else if err != nil {
		return out, fmt.Errorf("seed default tenant: %w", err)
	}
	n, err := a.Store.CountUsers(ctx, "", actor.RolePodAdmin)
	if err != nil {
		return out, err
	}
	if n > 0 {
		return out, nil
	}
	pw, err := auth.RandomPassword(20)
	if err != nil {
		return out, err
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return out, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := auth.User{ID: uuid.NewString(), TenantID: tenant.DefaultID, Email: AdminEmail, Name: "POD Admin",
		Role: actor.RolePodAdmin, PasswordHash: hash, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := a.Store.CreateUser(ctx, u); err != nil {
		if fault.KindOf(err) == fault.KindConflict {
			return out, nil // another instance seeded first
		}
		return out, fmt.Errorf("seed admin: %w", err)
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return out, err
	}
	if err := os.WriteFile(out.PasswordFile, []byte(pw+"\n"), 0o600); err != nil {
		return out, fmt.Errorf("write initial admin password: %w", err)
	}
	out.AdminPassword = pw
	return out, nil
}
