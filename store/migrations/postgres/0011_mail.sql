-- Every message delivered, by whichever sender: the mailbox a SANDBOX
-- tenant reads, and the record that keeps a redelivered event from
-- sending its message twice (the id is the message's own).
CREATE TABLE mail_messages (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    to_addr      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    text_body    TEXT NOT NULL,
    html_body    TEXT NOT NULL,
    links        TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL,
    sender       TEXT NOT NULL
);
CREATE INDEX mail_messages_by_recipient ON mail_messages (tenant_id, to_addr, created_at);
CREATE INDEX mail_messages_by_tenant ON mail_messages (tenant_id, created_at);
