-- The agent's decisions and spending. A decision that waits names the
-- held call (approval) an admin decides; a read the agent made is recorded
-- as it ended, read_only.
ALTER TABLE agent_decisions ADD COLUMN approval_id TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_decisions ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX agent_decisions_approval ON agent_decisions (tenant_id, approval_id);
-- What the agent (or one user) held and spent since a time: its day's and
-- month's spending against its own budget.
CREATE INDEX budget_reservations_subject ON budget_reservations (tenant_id, user_id, created_at);
