-- Expiry: a campaign's messages not sent within its validity (24 hours
-- after its start unless changed, from 1 hour to 30 days) are not sent and
-- are 'expired'. SQLite widens the state's CHECK only by rebuilding the
-- table, as 0010 did.
ALTER TABLE campaigns ADD COLUMN validity_hours INTEGER NOT NULL DEFAULT 24
    CHECK (validity_hours BETWEEN 1 AND 720);
CREATE TABLE outbound_messages_checked (
    id                 INTEGER PRIMARY KEY,
    campaign_id        INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone              TEXT    NOT NULL,
    body               TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent',
                           'delivered', 'undelivered', 'failed', 'opted_out', 'unknown',
                           'cancelled', 'expired')),
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
