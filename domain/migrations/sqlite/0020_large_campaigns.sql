-- A campaign's messages counted by state and recipient zone, so that its
-- page, the campaign list and quiet hours read a few rows instead of
-- counting a million messages. `local_zone` is '' for the organisation's
-- zone (NULL on the message).
--
-- A message queued or changing state adds a row to message_count_changes
-- (triggers, so that no write can forget it); the sending engine folds
-- those rows into the counts a few times a second, and readers add both.
-- Appending a row never waits for another writer's counter row, which
-- PostgreSQL's row locks would make writers do (and deadlock over) if
-- every state change updated the counters themselves.
CREATE TABLE campaign_message_counts (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,
    local_zone  TEXT    NOT NULL,
    messages    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, state, local_zone)
) WITHOUT ROWID;

CREATE TABLE message_count_changes (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    from_state  TEXT,  -- NULL: the message was queued
    to_state    TEXT    NOT NULL,
    local_zone  TEXT    NOT NULL
);
CREATE INDEX message_count_changes_by_campaign ON message_count_changes (campaign_id);

INSERT INTO campaign_message_counts (campaign_id, state, local_zone, messages)
SELECT campaign_id, state, COALESCE(local_zone, ''), COUNT(*)
FROM outbound_messages GROUP BY campaign_id, state, COALESCE(local_zone, '');

CREATE TRIGGER outbound_messages_count_inserts AFTER INSERT ON outbound_messages
BEGIN
    INSERT INTO message_count_changes (campaign_id, from_state, to_state, local_zone)
    VALUES (NEW.campaign_id, NULL, NEW.state, COALESCE(NEW.local_zone, ''));
END;

CREATE TRIGGER outbound_messages_count_changes AFTER UPDATE OF state ON outbound_messages
WHEN OLD.state IS NOT NEW.state
BEGIN
    INSERT INTO message_count_changes (campaign_id, from_state, to_state, local_zone)
    VALUES (NEW.campaign_id, OLD.state, NEW.state, COALESCE(NEW.local_zone, ''));
END;

-- A started campaign's recipients are queued a chunk per transaction (a
-- million in one would hold SQLite's write lock for many seconds). While
-- some remain, this is the last number queued (recipients are queued in
-- number order); NULL once all are.
ALTER TABLE campaigns ADD COLUMN queued_through TEXT;
CREATE INDEX campaigns_queuing ON campaigns (id) WHERE queued_through IS NOT NULL;

-- Where each page of a campaign's recipient table (100 messages, in
-- number order) starts, noted as recipients are queued: a page deep in a
-- million messages is a seek, not a count of the messages before it.
CREATE TABLE campaign_result_pages (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    page        INTEGER NOT NULL,
    first_phone TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, page)
) WITHOUT ROWID;
INSERT INTO campaign_result_pages (campaign_id, page, first_phone)
SELECT campaign_id, (position - 1) / 100 + 1, phone FROM (
    SELECT campaign_id, phone,
           ROW_NUMBER() OVER (PARTITION BY campaign_id ORDER BY phone) AS position
    FROM outbound_messages) numbered
WHERE position % 100 = 1;
