-- Each audit record names the request it served and, for a call an admin
-- approved, the approval and the approver.
ALTER TABLE audit_log ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN approval_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN approved_by TEXT NOT NULL DEFAULT '';

-- A call that needs an admin's approval, stored as it was asked for: it is
-- executed once, from this input, as its requester.
CREATE TABLE approvals (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    tool            TEXT NOT NULL,
    input           TEXT NOT NULL,
    shown_input     TEXT,
    requester       TEXT NOT NULL,
    requester_kind  TEXT NOT NULL,
    requester_id    TEXT NOT NULL,
    face            TEXT NOT NULL DEFAULT '',
    request_id      TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    preview         TEXT,
    estimate_micros INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'executing', 'executed', 'failed', 'rejected', 'expired')),
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    decided_at      TIMESTAMP,
    decided_by      TEXT,
    note            TEXT NOT NULL DEFAULT '',
    result          TEXT,
    error           TEXT NOT NULL DEFAULT '',
    finished_at     TIMESTAMP
);
CREATE INDEX approvals_tenant ON approvals (tenant_id, state, created_at);
CREATE INDEX approvals_requester ON approvals (tenant_id, requester_id, created_at);
