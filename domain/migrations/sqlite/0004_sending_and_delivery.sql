-- Sending. A worker claims a queued message by moving it to 'sending' with a
-- lease; if the lease runs out with no answer from Twilio recorded (a
-- timeout, a 5xx, a crash), the outcome is reconciled before anything is
-- sent again.
ALTER TABLE outbound_messages ADD COLUMN claimed_at INTEGER;
ALTER TABLE outbound_messages ADD COLUMN lease_until INTEGER;
ALTER TABLE outbound_messages ADD COLUMN reconcile_attempts INTEGER NOT NULL DEFAULT 0;
-- The latest Twilio status and its place in Twilio's order (statuses only
-- move forward; see delivery::status).
ALTER TABLE outbound_messages ADD COLUMN twilio_status TEXT;
ALTER TABLE outbound_messages ADD COLUMN status_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbound_messages ADD COLUMN error_message TEXT;
ALTER TABLE outbound_messages ADD COLUMN updated_at INTEGER;
CREATE UNIQUE INDEX outbound_messages_by_sid ON outbound_messages (twilio_sid)
    WHERE twilio_sid IS NOT NULL;
CREATE INDEX outbound_messages_by_lease ON outbound_messages (state, lease_until);

-- Why a campaign was paused by Outreach (e.g. Twilio rejected the token).
ALTER TABLE campaigns ADD COLUMN paused_reason TEXT;
ALTER TABLE campaigns ADD COLUMN finished_at INTEGER;

-- Every verified status callback, as Twilio posted it. Append-only; a
-- repeated (message, status) is the same event and is ignored.
CREATE TABLE delivery_events (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    message_sid     TEXT    NOT NULL,
    message_status  TEXT    NOT NULL,
    error_code      TEXT,
    -- Every posted parameter, as a JSON array of [name, value] pairs.
    params          TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    UNIQUE (organisation_id, message_sid, message_status)
);
