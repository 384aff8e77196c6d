-- Expiry. As ../sqlite/0017_expiry.sql.
ALTER TABLE campaigns ADD COLUMN validity_hours BIGINT NOT NULL DEFAULT 24
    CHECK (validity_hours BETWEEN 1 AND 720);
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_state_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_state_check
    CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed',
                     'opted_out', 'unknown', 'cancelled', 'expired'));
