-- Every sign-in attempt is recorded before its password is checked, so a
-- burst of parallel guesses counts in full. Failures stay for the throttle
-- window and are purged after it. Only a hash of the typed email is kept.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_attempts (
    id           INTEGER PRIMARY KEY,
    email_hash   BLOB    NOT NULL,
    -- The client's address (behind a trusted proxy, the one it reported).
    client       TEXT    NOT NULL,
    attempted_at INTEGER NOT NULL
);
CREATE INDEX sign_in_attempts_by_email ON sign_in_attempts (email_hash, attempted_at);
CREATE INDEX sign_in_attempts_by_client ON sign_in_attempts (client, attempted_at);
CREATE INDEX sign_in_attempts_by_time ON sign_in_attempts (attempted_at);

-- A disabled person cannot sign in; their sessions were ended.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- Sessions also end after a while without use (a sliding idle timeout).
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
