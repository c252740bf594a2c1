-- Invoices (R18): the platform's record of every invoice a processor
-- made for a user, kept from its webhooks (Stripe) or its answers (the
-- Mock). status only moves forward (draft, open, then uncollectible, paid
-- or void). Amounts are micro-dollars; lines is the invoice's lines as JSON.
CREATE TABLE billing_invoices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('SANDBOX', 'LIVE')),
    backend         TEXT NOT NULL CHECK (backend IN ('stripe', 'mock')),
    customer_id     TEXT NOT NULL,
    subscription_id TEXT NOT NULL DEFAULT '',
    number          TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'uncollectible', 'void')),
    amount_due      BIGINT NOT NULL,
    amount_paid     BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    period_start    TIMESTAMP,
    period_end      TIMESTAMP,
    hosted_url      TEXT NOT NULL DEFAULT '',
    pdf_url         TEXT NOT NULL DEFAULT '',
    lines           TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX billing_invoices_user ON billing_invoices (tenant_id, user_id, created_at);

-- Pay-as-you-go owed, billed once per user and period as one invoice
-- item. status is claimed until the processor made the item, then billed.
-- invoice_id is the invoice that holds the item, once known.
CREATE TABLE billing_payg_items (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    period        TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('claimed', 'billed')),
    item_id       TEXT NOT NULL DEFAULT '',
    invoice_id    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, user_id, period)
);
CREATE INDEX billing_payg_items_invoice ON billing_payg_items (invoice_id);
CREATE INDEX billing_payg_items_item ON billing_payg_items (item_id);

-- Which pay-as-you-go ledger entry each item bills: an entry is claimed
-- once, so it is never billed twice, and the ledger stays append-only.
CREATE TABLE billing_payg_claims (
    entry_id TEXT PRIMARY KEY REFERENCES ledger_entries (id),
    item     TEXT NOT NULL REFERENCES billing_payg_items (id)
);
CREATE INDEX billing_payg_claims_item ON billing_payg_claims (item);

-- Finding the pay-as-you-go owed reads the entries of that kind by time.
CREATE INDEX ledger_entries_payg ON ledger_entries (kind, created_at);
