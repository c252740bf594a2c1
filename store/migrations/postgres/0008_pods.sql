-- A pod: a tenant user's GPU machine, its configuration and its state.
-- revision counts changes; a command names the revision it read.
CREATE TABLE pods (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    owner_id          TEXT NOT NULL,
    name              TEXT NOT NULL,
    gpu               TEXT NOT NULL,
    gpu_count         INTEGER NOT NULL,
    provider          TEXT NOT NULL,
    offer_id          TEXT NOT NULL DEFAULT '',
    region            TEXT NOT NULL DEFAULT '',
    vcpu              INTEGER NOT NULL,
    ram_gib           INTEGER NOT NULL,
    disk_gib          INTEGER NOT NULL,
    image             TEXT NOT NULL,
    pricing           TEXT NOT NULL CHECK (pricing IN ('on_demand', 'spot')),
    state             TEXT NOT NULL CHECK (state IN ('draft', 'pending', 'provisioning', 'ready', 'running', 'stopped', 'terminating', 'terminated', 'failed')),
    reason            TEXT NOT NULL DEFAULT '',
    revision          BIGINT NOT NULL,
    instance_id       TEXT NOT NULL DEFAULT '',
    price_hour_micros BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX pods_tenant_owner ON pods (tenant_id, owner_id, created_at);
CREATE INDEX pods_tenant_state ON pods (tenant_id, state);

-- Every state a pod entered, in order: its event history.
CREATE TABLE pod_transitions (
    pod_id     TEXT NOT NULL REFERENCES pods (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL,
    PRIMARY KEY (pod_id, seq)
);
