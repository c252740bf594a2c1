-- Events a payment processor sent to a webhook endpoint, kept by the
-- processor's event id so a replayed delivery changes nothing. endpoint is
-- the tenant whose own endpoint received it ('' for the global one);
-- tenant_id and user_id are whom processing found it to concern.
-- processed_at is set once its effect committed; outcome says what it was
-- (applied, ignored, failed) and error why it failed, was ignored or waits.
CREATE TABLE processor_events (
    id           TEXT PRIMARY KEY,
    processor    TEXT NOT NULL,
    endpoint     TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL,
    livemode     BOOLEAN NOT NULL,
    payload      TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    tenant_id    TEXT NOT NULL DEFAULT '',
    user_id      TEXT NOT NULL DEFAULT '',
    processed_at TIMESTAMPTZ,
    outcome      TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX processor_events_unprocessed ON processor_events (received_at) WHERE processed_at IS NULL;

-- A processor's event names the customer: finding whose it is.
CREATE INDEX billing_customers_customer ON billing_customers (customer_id);
