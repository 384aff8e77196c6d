-- Every inbound message is kept, not only keywords (issue 13): replies
-- are shown on the campaign they answer, the last one that messaged their
-- number. Rows from before held keywords only, without their text.
ALTER TABLE inbound_messages ADD COLUMN body TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound_messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'keyword'
    CHECK (kind IN ('reply', 'help', 'opt_out', 'opt_in', 'keyword'));
ALTER TABLE inbound_messages ADD COLUMN campaign_id INTEGER REFERENCES campaigns (id) ON DELETE SET NULL;
CREATE INDEX inbound_messages_by_campaign ON inbound_messages (campaign_id, received_at);

-- Opt-outs added on the Opt-outs page (by hand or imported) name who
-- added them.
ALTER TABLE opt_outs ADD COLUMN added_by TEXT;
