-- The sending engine asks, every pass, for `sent` messages with no news
-- for a while, oldest first: without this index that was a scan and a sort
-- of every sent message.
CREATE INDEX outbound_messages_by_state_and_update ON outbound_messages (state, updated_at);
