-- A status callback finds its message by the id in its URL (`m`): every
-- message Outreach sends asks for its callbacks at such a URL. Twilio's
-- SIDs are random, so the two indexes keyed by one, the messages' by SID
-- and the events' (organisation, SID, status), each rewrote a random page
-- for every send answered and every callback: 72 % of the pages written
-- while sending (BENCHMARKS.md). Keyed by message, a repeated callback is
-- still found, and new keys land near each other. A callback for no
-- message Outreach knows is still stored, and is unique by its SID.
CREATE TABLE delivery_events_by_message (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- The message it moved or would have moved; NULL: none of the
    -- organisation's messages matches it.
    message_id      INTEGER,
    message_sid     TEXT    NOT NULL,
    message_status  TEXT    NOT NULL,
    error_code      TEXT,
    -- Every posted parameter, as a JSON array of [name, value] pairs.
    params          TEXT    NOT NULL,
    received_at     INTEGER NOT NULL
);
INSERT INTO delivery_events_by_message
    (id, organisation_id, message_id, message_sid, message_status, error_code, params, received_at)
SELECT e.id, e.organisation_id,
       (SELECT m.id FROM outbound_messages m JOIN campaigns c ON c.id = m.campaign_id
        WHERE m.twilio_sid = e.message_sid AND c.organisation_id = e.organisation_id),
       e.message_sid, e.message_status, e.error_code, e.params, e.received_at
FROM delivery_events e;
DROP TABLE delivery_events;
ALTER TABLE delivery_events_by_message RENAME TO delivery_events;
CREATE UNIQUE INDEX delivery_events_once ON delivery_events (message_id, message_status)
    WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX delivery_events_unmatched_once
    ON delivery_events (organisation_id, message_sid, message_status)
    WHERE message_id IS NULL;
DROP INDEX outbound_messages_by_sid;
