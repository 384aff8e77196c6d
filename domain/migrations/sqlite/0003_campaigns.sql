-- Numbers that must not be messaged (Twilio 21610, a STOP reply, or by hand).
CREATE TABLE opt_outs (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    phone           TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, phone)
) WITHOUT ROWID;

CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('sms')),
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('draft', 'running', 'paused', 'completed', 'cancelled')),
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    -- Segments billed if every message is sent, placeholders filled in.
    estimated_segments INTEGER NOT NULL,
    UNIQUE (organisation_id, name COLLATE NOCASE)
);

CREATE TABLE campaign_recipients (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone       TEXT    NOT NULL,
    -- The recipient's other CSV columns, for placeholders (JSON object).
    fields      TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, phone)
) WITHOUT ROWID;

-- One per recipient, created exactly once when the campaign starts running.
CREATE TABLE outbound_messages (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    twilio_sid  TEXT,
    error_code  INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX outbound_messages_by_state ON outbound_messages (campaign_id, state);

-- Numbers typed without a country code are read as numbers of this country
-- (ISO 3166 alpha-2).
ALTER TABLE organisations ADD COLUMN default_country TEXT NOT NULL DEFAULT 'US';
