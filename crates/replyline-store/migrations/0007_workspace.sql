-- The workspace (version 7): observers, labels, per-person read marks,
-- contact notes, quick replies, the audit log and full-text search.
-- Times are Unix milliseconds (UTC).

-- Observers («наблюдатели»): employees mentioned in a note. They see the chat,
-- may write in it and may leave it, but may not close or transfer it.
CREATE TABLE conversation_observers (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    employee_id     INTEGER NOT NULL REFERENCES employees(id),
    added_by        INTEGER REFERENCES employees(id),
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, employee_id)
);
CREATE INDEX conversation_observers_employee ON conversation_observers(employee_id, conversation_id);

-- Labels («метки») on conversations, free text, compared case-insensitively.
CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    label           TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_label ON conversation_labels(label, conversation_id);

-- Per-person read marks: a person's unread count of a conversation is the
-- number of client messages with an id above their mark.
CREATE TABLE conversation_reads (
    conversation_id      INTEGER NOT NULL REFERENCES conversations(id),
    employee_id          INTEGER NOT NULL REFERENCES employees(id),
    last_read_message_id INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, employee_id)
);

-- The contact card: a free-text note, and whether an employee named the
-- contact (then the messenger's profile name no longer overwrites it).
ALTER TABLE contacts ADD COLUMN note TEXT;
ALTER TABLE contacts ADD COLUMN name_edited INTEGER NOT NULL DEFAULT 0;

-- Listing by last activity, the inbox's order and cursor.
CREATE INDEX conversations_activity ON conversations(status, last_message_at, id);

-- Quick replies («Шаблоны сообщений»): shared ones are seen by everyone,
-- personal ones by their owner only.
CREATE TABLE quick_replies (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES employees(id),
    shared     INTEGER NOT NULL DEFAULT 0,
    title      TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX quick_replies_owner ON quick_replies(owner_id);

-- The audit log: who changed which setting or team record, old → new (JSON).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    employee_id INTEGER REFERENCES employees(id),
    entity      TEXT    NOT NULL,
    entity_id   TEXT,
    action      TEXT    NOT NULL,
    old         TEXT,
    new         TEXT
);
CREATE INDEX audit_log_at ON audit_log(at, id);

-- Full-text search. The tokenizer is unicode61 with diacritics removed:
-- case-insensitive for Cyrillic and Latin, «ё» folds to «е»; queries match
-- word prefixes, which stands in for Russian stemming (docs/workspace.md).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages WHERE text IS NOT NULL;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text)
        SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
    INSERT INTO messages_fts(rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL;
END;

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name,
    address,
    note,
    content = 'contacts',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO contacts_fts(rowid, name, address, note) SELECT id, name, address, note FROM contacts;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, name, address, note) VALUES (new.id, new.name, new.address, new.note);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, name, address, note)
        VALUES ('delete', old.id, old.name, old.address, old.note);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, address, note ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, name, address, note)
        VALUES ('delete', old.id, old.name, old.address, old.note);
    INSERT INTO contacts_fts(rowid, name, address, note) VALUES (new.id, new.name, new.address, new.note);
END;
