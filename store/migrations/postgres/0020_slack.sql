-- Where each agent decision was posted to Slack: the channel and the ts
-- Slack gave the message, so later events of the decision update it in
-- place. revision is the decision's revision the message shows; an older
-- one never overwrites a newer one.
CREATE TABLE slack_messages (
    decision_id TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    ts          TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    posted_at   TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX slack_messages_tenant ON slack_messages (tenant_id);

-- The signatures of the Slack requests accepted in the last minutes, so
-- a captured request sent again within Slack's five-minute window is
-- refused. Kept in the database rather than in process because every
-- instance behind the load balancer must see the same set.
CREATE TABLE slack_signatures (
    signature TEXT PRIMARY KEY,
    seen_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX slack_signatures_seen ON slack_signatures (seen_at);

-- The Slack user a platform user is in the tenant's workspace, linked by
-- set_slack_user, so a click in Slack is known as that user's.
ALTER TABLE users ADD COLUMN slack_user_id TEXT;
CREATE UNIQUE INDEX users_slack_user ON users (tenant_id, slack_user_id) WHERE slack_user_id IS NOT NULL;
