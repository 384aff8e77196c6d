-- Times in the app are shown in the organisation's time zone (an IANA
-- name), UTC until an Org Admin chooses one.
ALTER TABLE organisations ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
