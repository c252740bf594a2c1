-- Billing (R6, R8): each user's customer at the payment processor serving
-- their tenant in a mode, their saved payment methods and their
-- subscriptions, as the platform records them. backend is stripe or mock;
-- account names the processor account (one Stripe account per key).
CREATE TABLE billing_customers (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('SANDBOX', 'LIVE')),
    backend     TEXT NOT NULL CHECK (backend IN ('stripe', 'mock')),
    account     TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, user_id, mode)
);

-- A user has one default payment method per mode.
CREATE TABLE billing_payment_methods (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode       TEXT NOT NULL CHECK (mode IN ('SANDBOX', 'LIVE')),
    backend    TEXT NOT NULL CHECK (backend IN ('stripe', 'mock')),
    type       TEXT NOT NULL,
    brand      TEXT NOT NULL DEFAULT '',
    last4      TEXT NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX billing_payment_methods_one_default ON billing_payment_methods (tenant_id, user_id, mode) WHERE is_default;

-- A subscription to a paid plan. A user has at most one that is not
-- canceled per mode, so two subscribe calls at once cannot both land.
-- pending_* is a change whose payment the processor has not confirmed.
CREATE TABLE billing_subscriptions (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode                 TEXT NOT NULL CHECK (mode IN ('SANDBOX', 'LIVE')),
    backend              TEXT NOT NULL CHECK (backend IN ('stripe', 'mock')),
    plan                 TEXT NOT NULL CHECK (plan IN ('pro', 'enterprise')),
    billing_interval     TEXT NOT NULL CHECK (billing_interval IN ('monthly', 'annual')),
    status               TEXT NOT NULL CHECK (status IN ('incomplete', 'active', 'past_due', 'canceled')),
    period_start         TIMESTAMPTZ,
    period_end           TIMESTAMPTZ,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    pending_plan         TEXT NOT NULL DEFAULT '',
    pending_interval     TEXT NOT NULL DEFAULT '',
    backend_id           TEXT NOT NULL DEFAULT '',
    backend_item_id      TEXT NOT NULL DEFAULT '',
    revision             BIGINT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX billing_subscriptions_one_open ON billing_subscriptions (tenant_id, user_id, mode) WHERE status <> 'canceled';
CREATE INDEX billing_subscriptions_backend ON billing_subscriptions (backend_id);

-- The mock payment processor's objects (customers, setup intents, payment
-- methods, products, prices, subscriptions, invoices, invoice items), one
-- account per SANDBOX tenant. Every row is marked mock, and so is its data.
CREATE TABLE billing_mock_objects (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    object          TEXT NOT NULL,
    lookup_key      TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL DEFAULT '',
    customer        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL,
    mock            BOOLEAN NOT NULL DEFAULT TRUE CHECK (mock),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX billing_mock_objects_idempotency ON billing_mock_objects (tenant_id, idempotency_key) WHERE idempotency_key <> '';
CREATE UNIQUE INDEX billing_mock_objects_lookup_key ON billing_mock_objects (tenant_id, lookup_key) WHERE lookup_key <> '';
