-- The failure guard: a running campaign is paused when more than
-- failure_guard_percent of its first failure_guard_messages messages fail
-- with carrier errors. 'watching' until those messages are settled or the
-- guard trips; a campaign resumed after it tripped is not paused again.
ALTER TABLE organisations ADD COLUMN failure_guard_percent INTEGER NOT NULL DEFAULT 20
    CHECK (failure_guard_percent BETWEEN 1 AND 100);
ALTER TABLE organisations ADD COLUMN failure_guard_messages INTEGER NOT NULL DEFAULT 200
    CHECK (failure_guard_messages BETWEEN 10 AND 10000);
ALTER TABLE campaigns ADD COLUMN failure_guard TEXT NOT NULL DEFAULT 'watching'
    CHECK (failure_guard IN ('watching', 'passed', 'tripped'));
