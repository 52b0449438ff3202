"""The dialogue of the cases whose upstream takes a whole message and never
answers its final dot (36_upstream_*_after_dot)."""

import smtplib

from .clients import make_message
from .steps import ready_for_data


def send_unconfirmed(ctx):
    """Send one message; the device must hear that its outcome is unknown
    (451 4.4.0 ... may have been delivered), never "not delivered", and the
    log must say so."""
    s = ready_for_data(ctx)
    try:
        reply = s.data(make_message(ctx.msgid))
    except smtplib.SMTPDataError as e:
        reply = (e.smtp_code, e.smtp_error)
    text = ctx.expect_code(reply, 451, "end of DATA without the upstream's "
                           "verdict")
    ctx.check(text.startswith("4.4.0 ") and "may have been delivered" in text
              and "not delivered" not in text,
              "the device was not told the outcome is unknown: %r" % text)
    ctx.check(ctx.fault.wait_event("message: ") is not None,
              "the upstream never got the whole message")
    line = ctx.relay.wait_session(5, event="message", result="unknown")
    ctx.check(line is not None and "outcome unknown" in
              line.get("reason", ""),
              "no event=message result=unknown line")
