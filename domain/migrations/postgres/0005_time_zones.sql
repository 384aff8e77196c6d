-- Times in the app are shown in the organisation's time zone (an IANA
-- name), UTC until an Org Admin chooses one. As ../sqlite/0014_time_zones.sql.
ALTER TABLE organisations ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
