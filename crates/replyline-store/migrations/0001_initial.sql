-- Replyline schema, version 1. Times are Unix milliseconds (UTC).
CREATE TABLE employees (
    id               INTEGER PRIMARY KEY,
    email            TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name             TEXT    NOT NULL,
    display_name     TEXT,
    role             TEXT    NOT NULL,
    manager_id       INTEGER REFERENCES employees(id),
    password_hash    TEXT,
    telegram_chat_id TEXT,
    active           INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash        TEXT    PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE channels (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    config          TEXT    NOT NULL,
    settings        TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'active',
    status_reason   TEXT,
    last_webhook_at INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE settings_changes (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    employee_id INTEGER REFERENCES employees(id),
    at          INTEGER NOT NULL,
    old         TEXT    NOT NULL,
    new         TEXT    NOT NULL
);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    address         TEXT    NOT NULL,
    name            TEXT,
    last_inbound_at INTEGER,
    UNIQUE (channel_id, address)
);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    contact_id      INTEGER NOT NULL REFERENCES contacts(id),
    status          TEXT    NOT NULL,
    assignee_id     INTEGER REFERENCES employees(id),
    waiting_since   INTEGER,
    opened_at       INTEGER NOT NULL,
    closed_at       INTEGER,
    last_message_at INTEGER,
    state           TEXT    NOT NULL,
    due_at          INTEGER
);
-- The durable timer wheel.
CREATE INDEX conversations_due_at ON conversations(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX conversations_contact ON conversations(channel_id, contact_id, id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    direction       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    text            TEXT,
    template        TEXT,
    template_language TEXT,
    employee_id     INTEGER REFERENCES employees(id),
    status          TEXT    NOT NULL,
    error           TEXT,
    provider_id     TEXT,
    media_id        TEXT,
    content_type    TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_inbound_provider ON messages(channel_id, provider_id)
    WHERE direction = 'in' AND provider_id IS NOT NULL;
CREATE INDEX messages_outbound_provider ON messages(provider_id) WHERE direction = 'out';
CREATE INDEX messages_conversation ON messages(conversation_id, id);

CREATE TABLE status_events (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    status      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    error       TEXT,
    UNIQUE (message_id, status)
);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    at              INTEGER NOT NULL,
    type            TEXT    NOT NULL,
    rule            TEXT,
    outcome         TEXT,
    reason          TEXT,
    data            TEXT
);
CREATE INDEX events_conversation ON events(conversation_id, id);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    reason          TEXT    NOT NULL,
    employee_id     INTEGER REFERENCES employees(id),
    manager_id      INTEGER NOT NULL REFERENCES employees(id),
    wait_started_at INTEGER NOT NULL,
    waited_seconds  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    read_at         INTEGER
);
CREATE INDEX notifications_manager ON notifications(manager_id, id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    channel_id      INTEGER NOT NULL REFERENCES channels(id),
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    channel_id   INTEGER NOT NULL REFERENCES channels(id),
    body         BLOB    NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    result       TEXT
);
CREATE INDEX inbox_pending ON inbox(id) WHERE processed_at IS NULL;
