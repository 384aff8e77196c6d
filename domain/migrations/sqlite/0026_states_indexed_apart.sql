-- outbound_messages_by_state held every message by (campaign, state,
-- zone): each step of a message's sending (claimed, answered, delivered)
-- moved its entry, three moves a message for look-ups that ask about few
-- messages or that the campaigns' counts answer. Without it a campaign is
-- sent with 8 % less CPU (BENCHMARKS.md). What searched it now has an
-- index of only the messages it asks for, written when a message enters or
-- leaves that state:
-- - claims for the recipients of one zone (during quiet hours elsewhere);
-- - whether a campaign still waits for a receipt claimed in the last day;
-- - settling a campaign's `unknown` messages;
-- - the failure guard's failures by error code.
-- Whether a campaign has messages queued, being sent or unknown, and how
-- many settled, are read from campaign_message_counts.
DROP INDEX outbound_messages_by_state;
CREATE INDEX outbound_messages_queued_in_zone ON outbound_messages (campaign_id, local_zone, id)
    WHERE state = 'queued';
CREATE INDEX outbound_messages_awaiting_receipt ON outbound_messages (campaign_id, claimed_at)
    WHERE state = 'sent';
CREATE INDEX outbound_messages_unknown ON outbound_messages (campaign_id)
    WHERE state = 'unknown';
CREATE INDEX outbound_messages_failed ON outbound_messages (campaign_id, error_code)
    WHERE state IN ('undelivered', 'failed');
