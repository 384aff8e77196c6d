-- A status callback finds its message by the id in its URL (`m`): every
-- message Outreach sends asks for its callbacks at such a URL. Twilio's
-- SIDs are random, so the two indexes keyed by one, the messages' by SID
-- and the events' (organisation, SID, status), each rewrote a random page
-- for every send answered and every callback: 72 % of the pages written
-- while sending (BENCHMARKS.md). Keyed by message, a repeated callback is
-- still found, and new keys land near each other. A callback for no
-- message Outreach knows is still stored, and is unique by its SID.
--
-- message_id: the message it moved or would have moved; NULL: none of the
-- organisation's messages matches it.
ALTER TABLE delivery_events ADD COLUMN message_id BIGINT;
UPDATE delivery_events e SET message_id = m.id
FROM outbound_messages m JOIN campaigns c ON c.id = m.campaign_id
WHERE m.twilio_sid = e.message_sid AND c.organisation_id = e.organisation_id;
ALTER TABLE delivery_events
    DROP CONSTRAINT delivery_events_organisation_id_message_sid_message_status_key;
CREATE UNIQUE INDEX delivery_events_once ON delivery_events (message_id, message_status)
    WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX delivery_events_unmatched_once
    ON delivery_events (organisation_id, message_sid, message_status)
    WHERE message_id IS NULL;
DROP INDEX outbound_messages_by_sid;
