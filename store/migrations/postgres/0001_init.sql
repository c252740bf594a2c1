CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    mode       TEXT NOT NULL CHECK (mode IN ('SANDBOX', 'LIVE')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('user', 'pro_user', 'enterprise_user', 'pod_admin')),
    password_hash  TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);

-- tenant_id '' is the global scope and mode '' means both modes, so the
-- primary key needs no NULLs.
CREATE TABLE param_values (
    tenant_id  TEXT NOT NULL DEFAULT '',
    mode       TEXT NOT NULL DEFAULT '' CHECK (mode IN ('', 'SANDBOX', 'LIVE')),
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    sealed     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, mode, key)
);

CREATE TABLE param_history (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    tenant_id TEXT NOT NULL DEFAULT '',
    mode      TEXT NOT NULL DEFAULT '',
    key       TEXT NOT NULL,
    action    TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX param_history_key ON param_history (key, id);

-- One row whose counter every parameter commit bumps; instances poll it to
-- learn that their snapshot is stale.
CREATE TABLE param_revision (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
INSERT INTO param_revision (id, rev) VALUES (1, 0);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    face        TEXT NOT NULL DEFAULT '',
    tenant_id   TEXT NOT NULL DEFAULT '',
    mode        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    input       JSONB,
    verdict     TEXT NOT NULL DEFAULT '',
    result      JSONB,
    error       TEXT NOT NULL DEFAULT '',
    duration_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
