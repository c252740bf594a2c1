-- Signed-in browsers: the session cookie's hash, the user it is for, the
-- access token it uses now and the refresh token (sealed) that renews it,
-- and the session's CSRF token. A session ends with its refresh token.
CREATE TABLE web_sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    access_token    TEXT NOT NULL,
    access_expires  TIMESTAMP NOT NULL,
    refresh_sealed  TEXT NOT NULL,
    csrf            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
