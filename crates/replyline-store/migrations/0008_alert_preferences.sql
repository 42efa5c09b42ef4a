-- Per-person alert switches of the web workspace (issue 10): a sound, a desktop
-- notification and the unread count in the tab title when a client writes.
ALTER TABLE employee_preferences ADD COLUMN alert_sound INTEGER NOT NULL DEFAULT 1;
ALTER TABLE employee_preferences ADD COLUMN alert_desktop INTEGER NOT NULL DEFAULT 1;
ALTER TABLE employee_preferences ADD COLUMN alert_title INTEGER NOT NULL DEFAULT 1;
