"""The 3x cases, a scanner whose SMTP upstream fails, as one family: the
Case they share (smtp_fault_case), and the dialogues several of them run
(a temporary failure at AUTH, a 454 4.7.0 at AUTH in a given time, a
message whose final dot the upstream never answers)."""

import smtplib
import time

from .case import Case, CaseFailure
from .clients import make_message
from .relay import device
from .steps import (auth_tempfails, ctx_auth_plain, no_auth_sent_upstream,
                    ready_for_data)

SCANNER = "scanner-1"


def smtp_fault_case(doc, client, upstream, result="upstream_error",
                    reason=None, upstream_connections=1, settings=None):
    """A case of the family: the device SCANNER (127.0.0.1, AUTH PLAIN in
    the clear) runs client through the relay to the failing upstream (a
    harness/faultserver.py mode or "down"); its session must end with
    result (a str or a set) and, when given, reason (a str or a
    predicate), no message taken; the scripted upstream must count
    upstream_connections (a number, a predicate or None)."""
    log = {"event": "end", "result": result, "messages": "0",
           "device": SCANNER}
    if reason is not None:
        log["reason"] = reason
    return Case(doc, client, upstream=upstream,
                devices=[device(SCANNER, "127.0.0.1", plaintext_auth=True)],
                settings=settings, upstream_connections=upstream_connections,
                log=log)


def tempfail_without_credentials(ctx):
    """AUTH gets a temporary failure, no message is taken, and the relay
    sent the broken upstream no credentials."""
    auth_tempfails(ctx)
    no_auth_sent_upstream(ctx)


def auth_unavailable(ctx, what, within):
    """EHLO and AUTH PLAIN to a broken upstream: the reply must be 454
    4.7.0 between within's (earliest, latest) seconds; returns the client,
    still connected."""
    earliest, latest = within
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    started = time.monotonic()
    s.sock.settimeout(latest + 1.5)
    try:
        reply = ctx_auth_plain(ctx, s)
    except (smtplib.SMTPServerDisconnected, OSError) as e:
        raise CaseFailure("no reply to AUTH with %s within %.1f s: %s"
                          % (what, latest + 1.5, e))
    took = time.monotonic() - started
    text = ctx.expect_code(reply, 454, "AUTH with " + what)
    ctx.check(text.startswith("4.7.0"), "AUTH reply %r is not 454 4.7.0"
              % text)
    ctx.check(earliest <= took <= latest, "454 came after %.1f s, not "
              "within %.1f to %.1f s (%s)" % (took, earliest, latest, what))
    return s


def send_unconfirmed(ctx):
    """Send one message whose final dot the upstream never answers: the
    device must hear that its outcome is unknown (451 4.4.0 ... may have
    been delivered), never "not delivered", and the log must say so."""
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
