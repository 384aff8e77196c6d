-- Every inbound message Outreach acted on, by Twilio's MessageSid: a
-- replayed webhook finds its message here and changes nothing.
CREATE TABLE inbound_messages (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    message_sid     TEXT    NOT NULL,
    phone           TEXT    NOT NULL,
    -- When Twilio received it (or, if Twilio could not say, when we did).
    sent_at         INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, message_sid)
) WITHOUT ROWID;

-- The latest STOP / START keyword applied per number: an older keyword
-- that arrives late never overrides it.
CREATE TABLE opt_out_keywords (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    phone           TEXT    NOT NULL,
    keyword         TEXT    NOT NULL CHECK (keyword IN ('opt_out', 'opt_in')),
    sent_at         INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, phone)
) WITHOUT ROWID;

-- Calls to Twilio an Org Admin asked for (Save, Check now), for the
-- per-organisation limit: they are an oracle for stolen credentials.
CREATE TABLE twilio_checks (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL
);
CREATE INDEX twilio_checks_by_organisation ON twilio_checks (organisation_id, at);
