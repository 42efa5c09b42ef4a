-- Inbox order (version 11). The list is ordered by last activity,
-- COALESCE(last_message_at, opened_at), then id, newest first; these
-- expression indexes let a page walk the index and stop after `limit` rows
-- instead of sorting every visible conversation (docs/benchmarks.md).
DROP INDEX IF EXISTS conversations_activity;
CREATE INDEX conversations_activity ON conversations(COALESCE(last_message_at, opened_at), id);
CREATE INDEX conversations_status_activity ON conversations(status, COALESCE(last_message_at, opened_at), id);
-- A contact's conversations (the contact card's counts and labels, its
-- history): conversations_contact leads with channel_id, so without this a
-- card scanned the whole index.
CREATE INDEX conversations_by_contact ON conversations(contact_id, id);
