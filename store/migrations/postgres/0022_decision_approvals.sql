-- A decision that waits names the held call (approval) an admin decides;
-- a read the agent made is recorded as it ended, read_only.
ALTER TABLE agent_decisions ADD COLUMN approval_id TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_decisions ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX agent_decisions_approval ON agent_decisions (tenant_id, approval_id);
