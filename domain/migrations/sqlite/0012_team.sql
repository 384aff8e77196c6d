-- Org Admins manage their team in the browser (issue 15).

-- One-time links an Org Admin hands to someone: an invitation to join the
-- organisation, or a password reset for one of its people. Only a SHA-256
-- of the link's secret is stored; a link works once, until it expires or
-- is revoked.
CREATE TABLE account_links (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    token_hash      BLOB    NOT NULL UNIQUE,
    email           TEXT    NOT NULL COLLATE NOCASE,
    -- An invitation's role; NULL for a password reset.
    role            TEXT    CHECK (role IN ('org_admin', 'campaigner')),
    -- A password reset's person; NULL for an invitation.
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    revoked_at      INTEGER
);
CREATE INDEX account_links_by_organisation ON account_links (organisation_id, purpose);
CREATE INDEX account_links_by_user ON account_links (user_id);

-- Shown on the Team page.
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;

-- Shown on the Account page, so people recognise their sessions.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
-- Disabling someone or changing a password ends their sessions.
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The audit log (Settings > Audit log) holds team and opt-out changes as
-- well as Twilio Integration changes; the SMS page shows the latter only. It pages
-- back from the newest entry.
ALTER TABLE audit_events ADD COLUMN topic TEXT NOT NULL DEFAULT 'twilio_integration'
    CHECK (topic IN ('twilio_integration', 'team', 'opt_outs', 'organisation'));
DROP INDEX audit_events_by_organisation;
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, id);
CREATE INDEX audit_events_by_topic ON audit_events (organisation_id, topic, id);
