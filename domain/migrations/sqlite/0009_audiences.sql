-- An audience is written once, in short chunks, and only then attached to
-- its campaign in one small transaction: a million recipients never hold
-- the database's write lock for long, and a half-written audience never
-- belongs to a campaign. Audiences no campaign uses any more (replaced,
-- deleted, or left by a crash) are removed later, also in chunks.
CREATE TABLE audiences (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Counted once, when written: the campaign list shows it without
    -- counting a million rows.
    recipients      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE audience_recipients (
    audience_id INTEGER NOT NULL REFERENCES audiences (id) ON DELETE CASCADE,
    phone       TEXT    NOT NULL,
    -- The recipient's other CSV columns, for placeholders (JSON object).
    fields      TEXT    NOT NULL,
    PRIMARY KEY (audience_id, phone)
) WITHOUT ROWID;

ALTER TABLE campaigns ADD COLUMN audience_id INTEGER REFERENCES audiences (id);
CREATE INDEX campaigns_by_audience ON campaigns (audience_id);

-- Every existing campaign keeps its recipients, as an audience of its own.
INSERT INTO audiences (id, organisation_id, recipients, created_at)
    SELECT c.id, c.organisation_id,
           (SELECT COUNT(*) FROM campaign_recipients r WHERE r.campaign_id = c.id),
           c.created_at
    FROM campaigns c;
UPDATE campaigns SET audience_id = id;
INSERT INTO audience_recipients (audience_id, phone, fields)
    SELECT campaign_id, phone, fields FROM campaign_recipients;
DROP TABLE campaign_recipients;
