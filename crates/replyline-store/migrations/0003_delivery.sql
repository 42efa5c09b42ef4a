-- Notification delivery (in-app, e-mail, Telegram) and outgoing CRM webhooks.
CREATE TABLE employee_preferences (
    employee_id INTEGER PRIMARY KEY REFERENCES employees(id),
    email       INTEGER NOT NULL DEFAULT 1,
    telegram    INTEGER NOT NULL DEFAULT 1,
    language    TEXT    NOT NULL DEFAULT 'ru',
    quiet_hours TEXT
);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    events     TEXT    NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- One row per (notification, channel) or per (webhook endpoint, event); a retry
-- is a new attempt on the same row.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    channel         TEXT    NOT NULL,
    notification_id INTEGER REFERENCES notifications(id),
    recipient_id    INTEGER REFERENCES employees(id),
    webhook_id      INTEGER REFERENCES webhooks(id),
    event           TEXT,
    conversation_id INTEGER REFERENCES conversations(id),
    message_id      INTEGER REFERENCES messages(id),
    extra           TEXT,
    body            TEXT,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    response_code   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_notification ON deliveries(notification_id) WHERE notification_id IS NOT NULL;
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, id) WHERE webhook_id IS NOT NULL;

-- Which external channels the running server can deliver through (set at start
-- from smtp_url / telegram_bot_token), read inside the commit that creates a
-- notification's delivery rows.
CREATE TABLE delivery_config (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    email    INTEGER NOT NULL DEFAULT 0,
    telegram INTEGER NOT NULL DEFAULT 0
);
INSERT INTO delivery_config (id, email, telegram) VALUES (1, 0, 0);
