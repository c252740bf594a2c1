-- What a pod's owner reaches it with: the SSH key they configured, and
-- once the pod runs, its connection details (JSON; empty before).
ALTER TABLE pods ADD COLUMN ssh_public_key TEXT NOT NULL DEFAULT '';
ALTER TABLE pods ADD COLUMN connection TEXT NOT NULL DEFAULT '';
-- The parts of the pod's hourly price (JSON: provider price, markup in
-- basis points, storage), which usage is billed from.
ALTER TABLE pods ADD COLUMN rate TEXT NOT NULL DEFAULT '{}';
-- The budget hold of the pod's deploy, kept until the pod is ready
-- (settled) or fails (released).
ALTER TABLE pods ADD COLUMN reservation_id TEXT NOT NULL DEFAULT '';
-- Where a running pod is being scaled to (JSON; empty when it is not):
-- the new machine is made ready before the old one is retired.
ALTER TABLE pods ADD COLUMN scale_to TEXT NOT NULL DEFAULT '';
-- The last activity signal of a running pod, for the idle auto-stop.
ALTER TABLE pods ADD COLUMN active_at TIMESTAMP;

-- Each interval a pod ran, at the price it ran at: what billing bills.
-- ended_at is empty while the pod runs; a pod has one open interval at most.
CREATE TABLE pod_usage (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    pod_id            TEXT NOT NULL REFERENCES pods (id) ON DELETE CASCADE,
    owner_id          TEXT NOT NULL,
    offer_id          TEXT NOT NULL,
    price_hour_micros BIGINT NOT NULL,
    -- the parts of price_hour_micros
    provider_hour_micros BIGINT NOT NULL,
    markup_bps           BIGINT NOT NULL,
    storage_hour_micros  BIGINT NOT NULL,
    started_at        TIMESTAMP NOT NULL,
    ended_at          TIMESTAMP,
    -- when the ended interval was charged to its owner's ledger
    settled_at        TIMESTAMP
);
CREATE UNIQUE INDEX pod_usage_open ON pod_usage (pod_id) WHERE ended_at IS NULL;
CREATE INDEX pod_usage_tenant ON pod_usage (tenant_id, started_at);
CREATE INDEX pod_usage_unsettled ON pod_usage (ended_at) WHERE settled_at IS NULL;
