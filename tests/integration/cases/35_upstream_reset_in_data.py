"""The upstream resets the connection mid-DATA: no 250 for the message."""

import smtplib

from harness.clients import make_message
from harness.steps import ready_for_data
from harness.upstream_faults import smtp_fault_case


def client(ctx):
    s = ready_for_data(ctx)
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


CASE = smtp_fault_case(
    "upstream reset in the middle of DATA -> 4xx or close, never 250",
    client,
    "reset_data",
)
