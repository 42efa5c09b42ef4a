-- Search and audit (version 9).
--
-- Search: «ё» folds to «е» in the full-text indexes.
-- SQLite's unicode61 tokenizer removes Latin diacritics only; «ё» stays a
-- letter of its own. The indexes therefore store the text with «ё»/«Ё»
-- replaced by «е»/«Е» (same length, so offsets match the original), and the
-- store folds query words the same way (docs/workspace.md, "Search tokenizer").
-- External-content 'delete' commands must repeat the indexed values, so the
-- triggers fold old values too.

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_update;

INSERT INTO messages_fts(messages_fts) VALUES ('delete-all');
INSERT INTO messages_fts(rowid, text)
    SELECT id, replace(replace(text, 'ё', 'е'), 'Ё', 'Е') FROM messages WHERE text IS NOT NULL;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
    INSERT INTO messages_fts(rowid, text)
        VALUES (new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text)
        VALUES ('delete', old.id, replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е'));
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text)
        SELECT 'delete', old.id, replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е') WHERE old.text IS NOT NULL;
    INSERT INTO messages_fts(rowid, text)
        SELECT new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е') WHERE new.text IS NOT NULL;
END;

INSERT INTO contacts_fts(contacts_fts) VALUES ('delete-all');
INSERT INTO contacts_fts(rowid, name, address, note)
    SELECT id, replace(replace(name, 'ё', 'е'), 'Ё', 'Е'), address,
           replace(replace(note, 'ё', 'е'), 'Ё', 'Е')
    FROM contacts;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, name, address, note)
        VALUES (new.id, replace(replace(new.name, 'ё', 'е'), 'Ё', 'Е'), new.address,
                replace(replace(new.note, 'ё', 'е'), 'Ё', 'Е'));
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, name, address, note)
        VALUES ('delete', old.id, replace(replace(old.name, 'ё', 'е'), 'Ё', 'Е'), old.address,
                replace(replace(old.note, 'ё', 'е'), 'Ё', 'Е'));
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, address, note ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, name, address, note)
        VALUES ('delete', old.id, replace(replace(old.name, 'ё', 'е'), 'Ё', 'Е'), old.address,
                replace(replace(old.note, 'ё', 'е'), 'Ё', 'Е'));
    INSERT INTO contacts_fts(rowid, name, address, note)
        VALUES (new.id, replace(replace(new.name, 'ё', 'е'), 'Ё', 'Е'), new.address,
                replace(replace(new.note, 'ё', 'е'), 'Ё', 'Е'));
END;

-- Audit: every messenger settings change (written by the driver into
-- settings_changes) is also an audit_log entry, entity 'settings', so the
-- audit log is one sequence in the order things happened (ids), paged by id.
-- The store lists only the changed groups of old/new.
INSERT INTO audit_log (at, employee_id, entity, entity_id, action, old, new)
    SELECT at, employee_id, 'settings', CAST(channel_id AS TEXT), 'update', old, new
    FROM settings_changes ORDER BY id;
CREATE TRIGGER settings_changes_audit AFTER INSERT ON settings_changes BEGIN
    INSERT INTO audit_log (at, employee_id, entity, entity_id, action, old, new)
        VALUES (new.at, new.employee_id, 'settings', CAST(new.channel_id AS TEXT), 'update', new.old, new.new);
END;
