-- The sending engine claims a campaign's next queued messages, oldest
-- first, a few at a time, many times a second. Through
-- outbound_messages_by_state (campaign_id, state, local_zone) a claim for
-- every zone had to read and sort all the campaign's queued messages to find
-- the first few: a million-recipient campaign spent the engine's time
-- sorting. This index holds only queued messages, in the order they are
-- claimed; a message leaves it when claimed.
CREATE INDEX outbound_messages_queued ON outbound_messages (campaign_id, id)
    WHERE state = 'queued';
