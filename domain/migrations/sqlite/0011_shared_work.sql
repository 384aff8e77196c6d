-- Several processes share one organisation's sending rate: the tokens it
-- may spend are kept here, not in one process's memory. A taker writes
-- only the version it read (optimistic concurrency).
CREATE TABLE send_allowances (
    organisation_id INTEGER PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    tokens          REAL    NOT NULL,
    refilled_at_ms  INTEGER NOT NULL,
    version         INTEGER NOT NULL
);

-- Work that one process at a time does (reconciling unknown outcomes,
-- completing campaigns, re-checking credentials, removing unused
-- audiences): held by a process until it expires, then anyone's.
CREATE TABLE work_leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
