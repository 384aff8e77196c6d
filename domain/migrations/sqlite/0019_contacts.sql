-- Contacts: an organisation's people, by phone number (E.164, one contact
-- per number), with their names and any other columns of the files they
-- were imported from (a JSON object), usable as placeholders.
CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    phone           TEXT    NOT NULL,
    first_name      TEXT    NOT NULL DEFAULT '',
    last_name       TEXT    NOT NULL DEFAULT '',
    fields          TEXT    NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (organisation_id, phone)
);

-- Named lists of contacts.
CREATE TABLE contact_lists (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (organisation_id, name)
);

CREATE TABLE list_members (
    list_id    INTEGER NOT NULL REFERENCES contact_lists (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX list_members_by_contact ON list_members (contact_id);

-- A contact's page lists the messages they sent, newest first.
CREATE INDEX inbound_messages_by_phone ON inbound_messages (organisation_id, phone, received_at);
