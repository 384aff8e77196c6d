-- A name search read every contact of the organisation (LIKE '%text%' on
-- first and last name). A trigram index of the searched expression finds
-- the contacts containing a text of three or more characters without
-- reading the others (as ../sqlite/0027_contacts_found_by_name.sql).
-- pg_trgm ships with PostgreSQL (contrib) and is trusted: the database's
-- owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_by_name ON contacts
    USING gin (LOWER(first_name || ' ' || last_name) gin_trgm_ops);
