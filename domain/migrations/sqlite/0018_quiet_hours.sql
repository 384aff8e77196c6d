-- Quiet hours: an organisation's daily window, in minutes after local
-- midnight (both set, or neither), in which its campaigns send nothing.
ALTER TABLE organisations ADD COLUMN quiet_hours_from INTEGER
    CHECK (quiet_hours_from BETWEEN 0 AND 1439);
ALTER TABLE organisations ADD COLUMN quiet_hours_until INTEGER
    CHECK (quiet_hours_until BETWEEN 0 AND 1439);
-- An Org Admin may exempt a campaign from them.
ALTER TABLE campaigns ADD COLUMN quiet_hours_exempt INTEGER NOT NULL DEFAULT 0
    CHECK (quiet_hours_exempt IN (0, 1));
-- The zones of a started campaign's recipients, as a JSON array (null: the
-- organisation's zone), so the engine knows which to hold back without
-- reading the messages.
ALTER TABLE campaigns ADD COLUMN recipient_zones TEXT NOT NULL DEFAULT '[null]';
-- A message's recipient's zone where their country has one; NULL: the
-- organisation's. Claims seek by it, zone by zone, during quiet hours.
ALTER TABLE outbound_messages ADD COLUMN local_zone TEXT;
DROP INDEX outbound_messages_by_state;
CREATE INDEX outbound_messages_by_state ON outbound_messages (campaign_id, state, local_zone);
