-- The agent's memory (memory_save, memory_load, memory_forget): facts it
-- keeps per tenant across conversations, found again by their words.
-- words is the text lowered, for matching.
CREATE TABLE agent_memories (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    text       TEXT NOT NULL,
    words      TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX agent_memories_tenant ON agent_memories (tenant_id, created_at);
