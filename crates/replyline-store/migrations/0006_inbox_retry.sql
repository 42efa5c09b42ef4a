-- Inbox rows whose processing fails are retried with backoff and never dropped;
-- those that keep failing are listed for admins (the dead-letter list).
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN last_error TEXT;
-- Not retried before this instant (Unix ms); NULL = now.
ALTER TABLE inbox ADD COLUMN next_attempt_at INTEGER;
-- When the row first counted as failing (the admins' alert is raised once).
ALTER TABLE inbox ADD COLUMN failing_since INTEGER;

-- Rows that an earlier version set aside after three failures (marked processed
-- with "failed: ...") were acknowledged but never stored: put them back.
UPDATE inbox
   SET processed_at = NULL,
       attempts = 3,
       last_error = substr(result, 9),
       next_attempt_at = NULL,
       result = NULL
 WHERE processed_at IS NOT NULL AND result LIKE 'failed: %';

CREATE INDEX inbox_failing ON inbox(id) WHERE processed_at IS NULL AND attempts > 0;

-- The health check's write probe: one row, rewritten by every check, so
-- `/healthz` proves the writer can commit.
CREATE TABLE writer_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL,
    pad BLOB
);
