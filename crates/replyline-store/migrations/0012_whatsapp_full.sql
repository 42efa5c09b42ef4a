-- WhatsApp in full (issue 11): media both ways, templates, writing first and
-- failures a person can see. See docs/whatsapp.md.

-- One file of a message: inbound ones are downloaded from the Graph API by the
-- media worker (state pending → stored | failed); outbound ones are stored
-- when the employee attaches them and uploaded by the outbox before sending.
CREATE TABLE attachments (
    id                INTEGER PRIMARY KEY,
    message_id        INTEGER NOT NULL REFERENCES messages(id),
    conversation_id   INTEGER NOT NULL REFERENCES conversations(id),
    channel_id        INTEGER NOT NULL REFERENCES channels(id),
    direction         TEXT    NOT NULL,           -- in | out
    kind              TEXT    NOT NULL,           -- image, video, audio, voice, document, sticker
    mime_type         TEXT,
    file_name         TEXT,
    size              INTEGER,
    sha256            TEXT,
    provider_media_id TEXT,                       -- in: the id to download; out: the uploaded id
    storage_key       TEXT,                       -- the key in the media store, once stored
    state             TEXT    NOT NULL,           -- pending | stored | failed
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    error             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE INDEX attachments_pending ON attachments(next_attempt_at) WHERE state = 'pending';

-- Structured content of a message beyond its text: location, contact cards,
-- a template's parameters ({"template":{"name","language","parameters"}}).
ALTER TABLE messages ADD COLUMN payload TEXT;
-- When the outbox tries a failing send again (set with `error` on the first
-- failed attempt, cleared once it is sent or finally fails).
ALTER TABLE messages ADD COLUMN retry_at INTEGER;
-- 1 when the send's outcome is unknown (a crash or timeout mid-send): a later
-- status callback for this message heals it.
ALTER TABLE messages ADD COLUMN delivery_unknown INTEGER NOT NULL DEFAULT 0;

-- The approved (and other) templates of a channel's WABA, as last read from
-- the Graph API.
CREATE TABLE whatsapp_templates (
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    name        TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    parameters  INTEGER NOT NULL,
    preview     TEXT    NOT NULL,
    components  TEXT    NOT NULL,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (channel_id, name, language)
);
ALTER TABLE channels ADD COLUMN templates_fetched_at INTEGER;

-- «Разрешить отправлять сообщение первым».
ALTER TABLE channels ADD COLUMN allow_write_first INTEGER NOT NULL DEFAULT 0;

-- A channel's sending health: consecutive failed send attempts, since when it
-- has been failing (NULL = healthy) and the last error; admins are notified
-- once per outage (when failing_since is set).
ALTER TABLE channels ADD COLUMN send_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN failing_since INTEGER;
ALTER TABLE channels ADD COLUMN failing_error TEXT;
