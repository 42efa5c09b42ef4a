-- Login sessions (version 5). Times are Unix milliseconds (UTC).
--
-- A token may expire: `expires_at` is its absolute end, `idle_timeout_ms` how
-- long it survives without use (measured from `last_used_at`, else
-- `created_at`). NULL means never: API tokens (`replyline token create`,
-- `POST /api/v1/tokens`) live until revoked; login sessions get both.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN idle_timeout_ms INTEGER;

-- Login tokens issued before sessions expired get the default lifetimes
-- (30 days absolute, 7 days idle).
UPDATE tokens
   SET expires_at = created_at + 30 * 86400000,
       idle_timeout_ms = 7 * 86400000
 WHERE label = 'login';
