"""The exit register, SMTP submission: after a message goes through the
relay, tlsrelayctl report --format json shows the queue id Postfix logged
for it and its Message-ID, the sender, the TLS versions."""

import json
import re

from harness.case import Case
from harness.register import ctl, db_path, wait_row
from harness.relay import device
from harness.steps import plain_auth_and_send


def client(ctx):
    plain_auth_and_send(ctx)
    row = wait_row(ctx, "scanner-1", "smtp",
                   lambda r: r["messages"] == 1 and r["sessions"] == 1,
                   "one message and one session")
    ctx.check(ctx.msgid in (row["last_message_id"] or ""),
              "last_message_id %r is not the message sent (%s)"
              % (row["last_message_id"], ctx.msgid))
    queue_id = row["last_queue_id"] or ""
    ctx.check(re.fullmatch(r"[0-9A-Za-z]+", queue_id),
              "no queue id in the register: %r" % queue_id)
    with open(ctx.postfix.maillog, errors="replace") as f:
        maillog = f.read()
    ctx.check("%s: message-id=<%s" % (queue_id, ctx.msgid) in maillog,
              "Postfix did not log queue id %s for %s" % (queue_id,
                                                          ctx.msgid))
    ctx.check(row["last_sender"] == "scanner@example.test",
              "last_sender is %r" % row["last_sender"])
    ctx.check(row["lan_tls_used"] == "none" and
              row["upstream_tls"] in ("TLSv1.2", "TLSv1.3") and
              row["ok_sessions"] == 1 and row["last_failure"] is None,
              "TLS or outcome wrong: %r" % row)
    db = db_path(ctx)
    status, out, err = ctl(ctx, "--db", db, "--db", db, "report",
                           "--format", "json")
    merged = [r for r in json.loads(out) if r["protocol"] == "smtp"]
    ctx.check(status == 0 and len(merged) == 1 and
              merged[0]["messages"] == 2 and merged[0]["sessions"] == 2 and
              merged[0]["lan_tls_used"] == "none",
              "the same database twice does not add up: %r" % merged)


CASE = Case(
    "register: SMTP message -> report shows Postfix's queue id, Message-ID",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
)
