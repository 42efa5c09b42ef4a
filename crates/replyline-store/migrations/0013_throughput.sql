-- Throughput (version 13).
-- The outbox sends a recipient's messages one at a time, oldest first. The
-- check "no older unfinished message to the same contact" joined three tables
-- for every candidate row (161 ms per claim at 40,000 pending); with the
-- recipient on the row it is one lookup in a partial index.
ALTER TABLE outbox ADD COLUMN contact_id INTEGER REFERENCES contacts(id);
UPDATE outbox SET contact_id = (SELECT c.contact_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
                                WHERE m.id = outbox.message_id);
CREATE INDEX outbox_recipient ON outbox(contact_id, id) WHERE state IN ('pending', 'inflight');
-- The scheduler holds back deadlines due after the oldest unprocessed webhook
-- (its message comes first); that row's arrival is read by this index.
CREATE INDEX inbox_unprocessed ON inbox(id, received_at) WHERE processed_at IS NULL AND attempts = 0;
-- A settings change re-settles the channel's open conversations in chunks
-- (each its own short transaction) instead of all of them in one: this row
-- says which are still to do (those with a larger id than `after_id`), and
-- survives a restart. A conversation touched before its chunk is re-settled
-- on the spot.
CREATE TABLE settings_backlog (
    channel_id  INTEGER PRIMARY KEY REFERENCES channels(id),
    after_id    INTEGER NOT NULL,
    changed_at  INTEGER NOT NULL,
    employee_id INTEGER
);
