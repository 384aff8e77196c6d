-- The failure guard. As ../sqlite/0015_failure_guard.sql.
ALTER TABLE organisations ADD COLUMN failure_guard_percent BIGINT NOT NULL DEFAULT 20
    CHECK (failure_guard_percent BETWEEN 1 AND 100);
ALTER TABLE organisations ADD COLUMN failure_guard_messages BIGINT NOT NULL DEFAULT 200
    CHECK (failure_guard_messages BETWEEN 10 AND 10000);
ALTER TABLE campaigns ADD COLUMN failure_guard TEXT NOT NULL DEFAULT 'watching'
    CHECK (failure_guard IN ('watching', 'passed', 'tripped'));
