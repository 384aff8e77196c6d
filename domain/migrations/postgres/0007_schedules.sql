-- Scheduled drafts. As ../sqlite/0016_schedules.sql.
ALTER TABLE campaigns ADD COLUMN scheduled_at BIGINT;
ALTER TABLE campaigns ADD COLUMN schedule_problem TEXT;
CREATE INDEX campaigns_due ON campaigns (scheduled_at)
    WHERE status = 'draft' AND scheduled_at IS NOT NULL;
