-- Timestamps are Unix seconds (UTC).

CREATE TABLE organisations (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- Random and unguessable: it appears in webhook URLs given to Twilio.
    public_id           TEXT    NOT NULL UNIQUE,
    subscription_state  TEXT    NOT NULL
        CHECK (subscription_state IN ('active', 'inactive', 'requested')),
    access_requested_at INTEGER,
    access_requested_by TEXT,
    created_at          INTEGER NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- People sign in with their email alone, so it is unique across organisations.
    email           TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('org_admin', 'campaigner')),
    created_at      INTEGER NOT NULL
);
CREATE INDEX users_by_organisation ON users (organisation_id);

-- Only a hash of the session token is stored, so a copy of the database
-- cannot be used to take over sessions.
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Failed sign-ins per submitted email (known or not), for throttling.
CREATE TABLE sign_in_failures (
    id        INTEGER PRIMARY KEY,
    email     TEXT    NOT NULL COLLATE NOCASE,
    failed_at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_email ON sign_in_failures (email, failed_at);
