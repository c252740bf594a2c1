-- Price observations of provider offers, for price history. Prices are
-- integer micro-dollars per hour.
CREATE TABLE price_points (
    mode         TEXT NOT NULL,
    offer_id     TEXT NOT NULL,
    provider     TEXT NOT NULL,
    gpu          TEXT NOT NULL,
    region       TEXT NOT NULL,
    price_micros INTEGER NOT NULL,
    spot_micros  INTEGER NOT NULL DEFAULT 0,
    availability TEXT NOT NULL,
    observed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (mode, offer_id, observed_at)
);
CREATE INDEX price_points_gpu ON price_points (mode, gpu, observed_at);

-- Machines of the simulated SANDBOX providers: the simulation's own
-- state, kept in the database so it survives restarts and is shared by
-- every instance of the platform.
CREATE TABLE sandbox_instances (
    id           TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    sku          TEXT NOT NULL,
    region       TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    price_micros INTEGER NOT NULL,
    public_ip    TEXT NOT NULL DEFAULT '',
    ssh_port     INTEGER NOT NULL DEFAULT 22,
    fail         INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    ready_at     TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
