-- Registration (R7): the single-use links that confirm an address, the
-- accounts users hold at outside identity providers, and the OAuth
-- sign-ins under way.

-- token_hash is the hex SHA-256 of the link's token, never the token.
CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX email_verifications_user ON email_verifications (user_id, created_at);

-- provider is google, github or cognito; subject is the provider's stable
-- id of the account (Google's and Cognito's sub, GitHub's numeric id),
-- which outlives a change of address; email is the address it gave.
CREATE TABLE user_identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- One row per OAuth sign-in under way, taken (deleted) by its callback.
-- state_hash is the hex SHA-256 of the state the browser holds in a
-- cookie; verifier is the PKCE code verifier, worth nothing without the
-- code the provider hands that browser, and kept only minutes.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    client_ip  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oauth_states_client ON oauth_states (client_ip, created_at);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
