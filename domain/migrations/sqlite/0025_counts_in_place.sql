-- A message queued or changing state adds to its campaign's counts in
-- place, in the same statement's transaction. The change log of
-- large_campaigns is kept for PostgreSQL, whose row locks would make
-- concurrent writers queue (and deadlock) over the counters. SQLite has
-- one writer at a time, so nothing can wait for a counter here, and the
-- log only cost: three rows a message written with their index, then read,
-- sorted and deleted again by the fold (BENCHMARKS.md). The counters are a
-- few rows a campaign, on pages that every commit while sending writes
-- anyway. A count that falls to 0 keeps its row; readers skip it.
DROP TRIGGER outbound_messages_count_inserts;
DROP TRIGGER outbound_messages_count_changes;

-- What was noted and not folded yet, folded once.
INSERT INTO campaign_message_counts (campaign_id, state, local_zone, messages)
SELECT campaign_id, state, local_zone, SUM(n) FROM (
    SELECT campaign_id, to_state AS state, local_zone, 1 AS n FROM message_count_changes
    UNION ALL
    SELECT campaign_id, from_state, local_zone, -1 FROM message_count_changes
     WHERE from_state IS NOT NULL
) c WHERE TRUE
GROUP BY campaign_id, state, local_zone
ON CONFLICT (campaign_id, state, local_zone)
DO UPDATE SET messages = campaign_message_counts.messages + excluded.messages;
DELETE FROM message_count_changes;

CREATE TRIGGER outbound_messages_count_inserts AFTER INSERT ON outbound_messages
BEGIN
    INSERT INTO campaign_message_counts (campaign_id, state, local_zone, messages)
    VALUES (NEW.campaign_id, NEW.state, COALESCE(NEW.local_zone, ''), 1)
    ON CONFLICT (campaign_id, state, local_zone) DO UPDATE SET messages = messages + 1;
END;

CREATE TRIGGER outbound_messages_count_changes AFTER UPDATE OF state ON outbound_messages
WHEN OLD.state IS NOT NEW.state
BEGIN
    UPDATE campaign_message_counts SET messages = messages - 1
     WHERE campaign_id = OLD.campaign_id AND state = OLD.state
       AND local_zone = COALESCE(OLD.local_zone, '');
    INSERT INTO campaign_message_counts (campaign_id, state, local_zone, messages)
    VALUES (NEW.campaign_id, NEW.state, COALESCE(NEW.local_zone, ''), 1)
    ON CONFLICT (campaign_id, state, local_zone) DO UPDATE SET messages = messages + 1;
END;
