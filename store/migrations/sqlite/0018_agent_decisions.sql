-- The agent's decisions: every tool call it chose, with its preview,
-- verdict and what became of it. revision guards status changes (a move
-- lands only on the revision read). The raw model reply is kept for
-- replay. override is the admin's replacement call as JSON ('' for none).
CREATE TABLE agent_decisions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    step         INTEGER NOT NULL,
    agent        INTEGER NOT NULL DEFAULT 0,
    admin_id     TEXT NOT NULL DEFAULT '',
    thoughts     TEXT NOT NULL DEFAULT '[]',
    headline     TEXT NOT NULL DEFAULT '',
    tool         TEXT NOT NULL,
    args         TEXT NOT NULL DEFAULT '',
    effect       TEXT NOT NULL DEFAULT '',
    cost_micros  BIGINT NOT NULL DEFAULT 0,
    destructive  BOOLEAN NOT NULL DEFAULT FALSE,
    allowed      BOOLEAN NOT NULL DEFAULT FALSE,
    rule         TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    reply        TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    decided_by   TEXT NOT NULL DEFAULT '',
    override     TEXT NOT NULL DEFAULT '',
    reverts      TEXT NOT NULL DEFAULT '',
    reverted_by  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    revision     BIGINT NOT NULL DEFAULT 1
);
-- A tenant's decisions newest first, and those waiting (or in any one
-- status) for the approval queue; a task's decisions in order.
CREATE INDEX agent_decisions_tenant_created ON agent_decisions (tenant_id, created_at DESC, id DESC);
CREATE INDEX agent_decisions_tenant_status ON agent_decisions (tenant_id, status, created_at DESC);
CREATE INDEX agent_decisions_task ON agent_decisions (tenant_id, task_id, created_at);
