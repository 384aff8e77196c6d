-- A message's state is one of `model::MessageState`'s, enforced by the
-- database as a campaign's status already is. SQLite adds a CHECK only by
-- rebuilding the table.
CREATE TABLE outbound_messages_checked (
    id                 INTEGER PRIMARY KEY,
    campaign_id        INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone              TEXT    NOT NULL,
    body               TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent',
                           'delivered', 'undelivered', 'failed', 'opted_out', 'unknown',
                           'cancelled')),
    twilio_sid         TEXT,
    error_code         INTEGER,
    attempts           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    claimed_at         INTEGER,
    lease_until        INTEGER,
    reconcile_attempts INTEGER NOT NULL DEFAULT 0,
    twilio_status      TEXT,
    status_rank        INTEGER NOT NULL DEFAULT 0,
    error_message      TEXT,
    updated_at         INTEGER,
    UNIQUE (campaign_id, phone)
);
INSERT INTO outbound_messages_checked
    (id, campaign_id, phone, body, state, twilio_sid, error_code, attempts, created_at,
     claimed_at, lease_until, reconcile_attempts, twilio_status, status_rank, error_message,
     updated_at)
SELECT id, campaign_id, phone, body, state, twilio_sid, error_code, attempts, created_at,
       claimed_at, lease_until, reconcile_attempts, twilio_status, status_rank, error_message,
       updated_at
FROM outbound_messages;
DROP TABLE outbound_messages;
ALTER TABLE outbound_messages_checked RENAME TO outbound_messages;
CREATE INDEX outbound_messages_by_state ON outbound_messages (campaign_id, state);
CREATE UNIQUE INDEX outbound_messages_by_sid ON outbound_messages (twilio_sid)
    WHERE twilio_sid IS NOT NULL;
CREATE INDEX outbound_messages_by_lease ON outbound_messages (state, lease_until);
CREATE INDEX outbound_messages_by_state_and_update ON outbound_messages (state, updated_at);
