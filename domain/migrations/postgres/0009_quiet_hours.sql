-- Quiet hours. As ../sqlite/0018_quiet_hours.sql.
ALTER TABLE organisations ADD COLUMN quiet_hours_from BIGINT
    CHECK (quiet_hours_from BETWEEN 0 AND 1439);
ALTER TABLE organisations ADD COLUMN quiet_hours_until BIGINT
    CHECK (quiet_hours_until BETWEEN 0 AND 1439);
ALTER TABLE campaigns ADD COLUMN quiet_hours_exempt BIGINT NOT NULL DEFAULT 0
    CHECK (quiet_hours_exempt IN (0, 1));
ALTER TABLE campaigns ADD COLUMN recipient_zones TEXT NOT NULL DEFAULT '[null]';
ALTER TABLE outbound_messages ADD COLUMN local_zone TEXT;
DROP INDEX outbound_messages_by_state;
CREATE INDEX outbound_messages_by_state ON outbound_messages (campaign_id, state, local_zone);
