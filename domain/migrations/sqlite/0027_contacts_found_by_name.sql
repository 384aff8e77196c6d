-- A name search read every contact of the organisation (LIKE '%text%' on
-- first and last name): 1.1 s at a million contacts. contacts_by_name
-- indexes each contact's "first last" by its sequences of three
-- characters (FTS5's trigram tokenizer, case-folded), which finds the
-- contacts containing a text of three or more characters without reading
-- the others. It keeps only the index, not a copy of the names, and
-- follows the contacts through the triggers below. `organisation` holds
-- '~<id>~', so that a search reads its own organisation's entries, not
-- every tenant's with the same name.
CREATE VIRTUAL TABLE contacts_by_name USING fts5(
    organisation, name,
    content = '', contentless_delete = 1, tokenize = 'trigram'
);

-- FTS5 merges its segments inside whichever transaction writes next, and
-- one such merge held the write lock 1.4 s in the middle of an import
-- (BENCHMARKS.md). Merging is done by imports instead, a bounded amount
-- after each of their transactions (contacts::import); a level that
-- still gathers 16 segments is merged at once, as before.
INSERT INTO contacts_by_name (contacts_by_name, rank) VALUES ('automerge', 0);

INSERT INTO contacts_by_name (rowid, organisation, name)
SELECT id, '~' || organisation_id || '~', first_name || ' ' || last_name FROM contacts;
-- The stored contacts' entries as one segment, merged once here.
INSERT INTO contacts_by_name (contacts_by_name) VALUES ('optimize');

CREATE TRIGGER contacts_by_name_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contacts_by_name (rowid, organisation, name)
    VALUES (NEW.id, '~' || NEW.organisation_id || '~', NEW.first_name || ' ' || NEW.last_name);
END;

-- An import that names a contact again as it was changes nothing here.
CREATE TRIGGER contacts_by_name_update AFTER UPDATE OF first_name, last_name ON contacts
WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name
BEGIN
    DELETE FROM contacts_by_name WHERE rowid = OLD.id;
    INSERT INTO contacts_by_name (rowid, organisation, name)
    VALUES (NEW.id, '~' || NEW.organisation_id || '~', NEW.first_name || ' ' || NEW.last_name);
END;

-- Deleted one by one, or with their organisation (cascades fire triggers).
CREATE TRIGGER contacts_by_name_delete AFTER DELETE ON contacts
BEGIN
    DELETE FROM contacts_by_name WHERE rowid = OLD.id;
END;
