-- Identity (R19): the keys that sign access tokens, refresh-token families,
-- TOTP enrolments and API tokens. Secrets are kept sealed (private keys,
-- TOTP secrets) or hashed (refresh tokens, API token secrets), never plain.

-- private_key_sealed is the PEM sealed under aad "signing-key/<kid>", base64.
CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    private_key_sealed TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    retired_at         TIMESTAMPTZ
);
-- At most one active key, so instances starting together cannot each create
-- one: the loser's insert fails and it reads the winner's.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- hash is the hex SHA-256 of the opaque token; amr is a JSON array of the
-- methods the session's login used.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr        TEXT NOT NULL DEFAULT '[]',
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- secret_sealed is the TOTP secret sealed under aad "totp/<user_id>", base64;
-- last_step is the last accepted 30-second step, so a code works once.
CREATE TABLE user_mfa (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT FALSE,
    last_step     BIGINT NOT NULL DEFAULT 0,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- secret_hash is the hex SHA-256 of the token's secret part; scopes is a
-- JSON array.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('user', 'pro_user', 'enterprise_user', 'pod_admin')),
    scopes       TEXT NOT NULL DEFAULT '[]',
    secret_hash  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);
