"""A wrong password is refused with 535 and nothing is delivered."""

import smtplib

from harness.case import Case
from harness.relay import device
from harness.steps import ctx_auth_plain


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s, password="not-the-password"),
                    535, "AUTH PLAIN with a wrong password")
    try:
        ctx.send(s)
    except Exception:
        pass
    else:
        ctx.check(False, "message accepted after a failed AUTH")
    try:
        s.docmd("QUIT")
    except smtplib.SMTPException:
        pass


CASE = Case(
    "wrong password -> 535, not delivered, result=auth_failed",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=False,
    log={"event": "end", "result": "auth_failed", "messages": "0",
         "device": "scanner-1"},
)
