-- Each user's money account: credits bought and payments (+), usage
-- charged (-). balance_micros is always the sum of the account's entries;
-- a positive balance is prepaid credit, a negative one pay-as-you-go owed.
CREATE TABLE ledger_accounts (
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    balance_micros BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, user_id)
);

-- What was posted, once per reference (a usage interval, a payment), so a
-- posting repeated or raced changes nothing.
CREATE TABLE ledger_postings (
    reference  TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The entries, append-only.
CREATE TABLE ledger_entries (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    reference     TEXT NOT NULL REFERENCES ledger_postings (reference),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (tenant_id, user_id, created_at);
