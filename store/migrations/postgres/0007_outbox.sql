-- Events written in the same transaction as the change they report; a
-- relay publishes them in seq order and sets published_at.
CREATE TABLE outbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    key          TEXT NOT NULL,
    tenant_id    TEXT NOT NULL DEFAULT '',
    payload      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
