#!/usr/bin/env python3
"""A tiny real SMTP server for the e-mail tests of replyline-notify and the
server's delivery tests (while OUTPUT_DIR/tempfail exists every recipient gets 451).

Usage: smtp_server.py OUTPUT_DIR

Listens on 127.0.0.1 on a free port, prints the port on the first line of
stdout and runs until stdin is closed (the test process exits or drops it).
Every accepted message N is written to OUTPUT_DIR as:
  NNNN.eml   the raw bytes received after DATA
  NNNN.json  {"mail_from", "rcpt_tos", "from", "to", "subject", "content_type",
              "body"} with headers decoded (RFC 2047) and the body decoded
              (transfer encoding and charset) by Python's email package.
The .json file is renamed into place last, so its presence means "complete".

Recipients whose local part is "reject" get 550 (permanent), "tempfail" get
451 (transient), so the tests can check error classification.
Requires aiosmtpd: python3 -m pip install aiosmtpd
"""

import asyncio
import email
import email.policy
import json
import os
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    print("SKIP: python module aiosmtpd is missing; install it with: python3 -m pip install aiosmtpd",
          file=sys.stderr, flush=True)
    sys.exit(3)


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if os.path.exists(os.path.join(self.outdir, "tempfail")):
            return "451 4.3.0 switched off by the test"
        local = address.split("@", 1)[0].lower()
        if local == "reject":
            return "550 5.1.1 mailbox unavailable"
        if local == "tempfail":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.outdir, "%04d" % self.count)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        info = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": msg.get_content(),
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(info, f, ensure_ascii=False)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted"


async def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    handler = Handler(outdir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="replyline-test.local", enable_SMTPUTF8=True),
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    # Serve until stdin is closed.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
