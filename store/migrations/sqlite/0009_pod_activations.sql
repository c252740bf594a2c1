-- The single-use link that activates a ready pod: only the token's
-- SHA-256 is kept, so a database read cannot activate anything.
CREATE TABLE pod_activations (
    pod_id     TEXT PRIMARY KEY REFERENCES pods (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
