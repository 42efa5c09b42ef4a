-- Access control and routing (version 2). Times are Unix milliseconds (UTC).

-- Tokens get a stable id (for listing and revoking), a label and last use.
CREATE TABLE tokens_v2 (
    id           INTEGER PRIMARY KEY,
    hash         TEXT    NOT NULL UNIQUE,
    employee_id  INTEGER NOT NULL REFERENCES employees(id),
    label        TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
INSERT INTO tokens_v2 (hash, employee_id, created_at) SELECT hash, employee_id, created_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
CREATE INDEX tokens_employee ON tokens(employee_id, id);

-- Presence and routing state of employees.
ALTER TABLE employees ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
ALTER TABLE employees ADD COLUMN last_seen_at INTEGER;
ALTER TABLE employees ADD COLUMN last_assigned_at INTEGER;

-- How new conversations of a channel are assigned: manual, round_robin, sticky.
ALTER TABLE channels ADD COLUMN routing TEXT NOT NULL DEFAULT 'manual';

-- Who works a channel.
CREATE TABLE channel_members (
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    PRIMARY KEY (channel_id, employee_id)
);
CREATE INDEX channel_members_employee ON channel_members(employee_id);
CREATE INDEX conversations_assignee ON conversations(assignee_id, status);
