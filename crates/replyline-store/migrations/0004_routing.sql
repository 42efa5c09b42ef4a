-- Per-rule notification texts, user groups, routing rules and the manual clock (version 4).
-- Times are Unix milliseconds (UTC).

-- The rendered «Текст уведомления» of the rule that fired (NULL for older rows).
ALTER TABLE notifications ADD COLUMN text TEXT;

-- Named sets of employees («группы пользователей»).
CREATE TABLE employee_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE employee_group_members (
    group_id    INTEGER NOT NULL REFERENCES employee_groups(id) ON DELETE CASCADE,
    employee_id INTEGER NOT NULL REFERENCES employees(id),
    PRIMARY KEY (group_id, employee_id)
);

-- «Правила маршрутизации сообщений»: ordered by position, first match wins.
-- keywords is a JSON array of strings; exactly one target is set.
CREATE TABLE routing_rules (
    id          INTEGER PRIMARY KEY,
    position    INTEGER NOT NULL,
    keywords    TEXT    NOT NULL,
    channel_id  INTEGER REFERENCES channels(id),
    employee_id INTEGER REFERENCES employees(id),
    group_id    INTEGER REFERENCES employee_groups(id),
    CHECK ((employee_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX routing_rules_position ON routing_rules(position);

-- The latest instant a manual clock reached, so a restart resumes from it.
CREATE TABLE manual_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    now INTEGER NOT NULL
);
