-- The engine looks for two kinds of stuck message: `sending` ones whose
-- lease ran out, and `sent` ones with no news for a while. Their indexes
-- were on (state, lease_until) and (state, updated_at), so every message
-- had an entry in both, and every step of its sending (claimed, answered,
-- sent, delivered) moved both entries: a third of the index writes of a
-- message sent. Indexes of only the messages those look-ups ask for are
-- written when a message enters or leaves that state, and hold nothing
-- for the millions of settled messages.
DROP INDEX outbound_messages_by_lease;
DROP INDEX outbound_messages_by_state_and_update;
CREATE INDEX outbound_messages_leased ON outbound_messages (lease_until) WHERE state = 'sending';
CREATE INDEX outbound_messages_quiet ON outbound_messages (updated_at) WHERE state = 'sent';
