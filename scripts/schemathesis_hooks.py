"""schemathesis hooks for scripts/schemathesis: a fresh admin token whenever one is needed.

The run may revoke its own credentials (log out, revoke a token, reset the
admin's password, deactivate an admin after making another): every 401 makes
schemathesis ask for a new token, which is minted with `replyline token create`
for an admin that is still active (read from the database).
"""

import os
import sqlite3
import subprocess

import schemathesis


def _active_admins(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute(
            "SELECT email FROM employees WHERE role = 'admin' AND active = 1 ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@schemathesis.auth(refresh_interval=120)
class ReplylineAdmin:
    def get(self, case, ctx):
        binary = os.environ["REPLYLINE_BIN"]
        db = os.environ["REPLYLINE_DB_FILE"]
        for email in _active_admins(db):
            out = subprocess.run(
                [binary, "token", "create", "--email", email],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip().splitlines()[-1]
        raise RuntimeError("no active admin to mint a token for")

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
