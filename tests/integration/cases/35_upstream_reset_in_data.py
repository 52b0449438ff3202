"""The upstream resets the connection mid-DATA: no 250 for the message."""

import smtplib

from harness.case import Case
from harness.clients import make_message
from harness.relay import device
from harness.steps import ctx_auth_plain


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH PLAIN")
    ctx.expect_code(s.mail(ctx.user), 250, "MAIL FROM")
    ctx.expect_code(s.rcpt("inbox@example.test"), 250, "RCPT TO")
    try:
        reply = s.data(make_message(ctx.msgid) + "padding\r\n" * 200)
    except smtplib.SMTPDataError as e:
        reply = (e.smtp_code, e.smtp_error)
    except OSError:		# disconnected or reset: also acceptable
        reply = None
    ctx.note("device got %s at the end of DATA"
             % ((reply,) if reply else "a closed connection"))
    if reply is not None:
        ctx.expect_code(reply, range(400, 500), "end of DATA after a reset")
    ctx.check(ctx.fault.wait_event("reset") is not None,
              "the fault server never reset the connection")
    auth = ctx.fault.wait_event("auth: ")
    ctx.check(auth == "auth: PLAIN %s" % ctx.user,
              "upstream AUTH was %r, not pass-through of the device's" % auth)


CASE = Case(
    "upstream reset in the middle of DATA -> 4xx or close, never 250",
    client,
    upstream="reset_data",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=1,
    log={"event": "end", "result": "upstream_error", "messages": "0",
         "device": "scanner-1"},
)
