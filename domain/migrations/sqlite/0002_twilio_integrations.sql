-- One Twilio Integration per organisation. The Auth Token is only ever
-- stored as an encrypted envelope (see domain/src/crypto.rs).
CREATE TABLE twilio_integrations (
    organisation_id       INTEGER PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    account_sid           TEXT    NOT NULL,
    auth_token_envelope   TEXT    NOT NULL,
    messaging_service_sid TEXT,
    -- 'Trial' or 'Full', as Twilio last reported it.
    account_type          TEXT,
    health                TEXT    NOT NULL CHECK (health IN ('valid', 'invalid')),
    health_reason         TEXT,
    checked_at            INTEGER NOT NULL,
    updated_by            TEXT    NOT NULL,
    updated_at            INTEGER NOT NULL,
    -- Optimistic concurrency: a save names the version its form was loaded at.
    version               INTEGER NOT NULL
);

-- Who changed what in the integration, and when. Never a secret.
CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, at);
