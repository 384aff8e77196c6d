-- A draft may be scheduled: the engine starts it at scheduled_at, applying
-- the help page's rule then. When the rule refuses, the draft stays a
-- draft, unscheduled, and schedule_problem says why.
ALTER TABLE campaigns ADD COLUMN scheduled_at INTEGER;
ALTER TABLE campaigns ADD COLUMN schedule_problem TEXT;
CREATE INDEX campaigns_due ON campaigns (scheduled_at)
    WHERE status = 'draft' AND scheduled_at IS NOT NULL;
