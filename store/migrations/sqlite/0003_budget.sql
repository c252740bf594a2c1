-- Money is kept in integer micro-dollars so sums are exact.
-- subject '' is the tenant's own account; otherwise a user id.
CREATE TABLE budget_accounts (
    tenant_id    TEXT NOT NULL,
    period       TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    held_micros  INTEGER NOT NULL DEFAULT 0,
    spent_micros INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, period, subject)
);

CREATE TABLE budget_reservations (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL DEFAULT '',
    period        TEXT NOT NULL,
    tool          TEXT NOT NULL,
    amount_micros INTEGER NOT NULL,
    actual_micros INTEGER,
    state         TEXT NOT NULL CHECK (state IN ('held', 'settled', 'released')),
    created_at    TIMESTAMP NOT NULL,
    closed_at     TIMESTAMP
);
CREATE INDEX budget_reservations_tenant ON budget_reservations (tenant_id, period);
