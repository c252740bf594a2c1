-- Failed sign-ins by key ("email:<address>", "ip:<address>"), counted
-- over a window to refuse password guessing on every instance alike.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);
