"""An upstream that accepts the connection but never greets: after
limits.upstream_timeout the device's AUTH gets 454 and the relay hangs up
on the upstream."""

import smtplib
import time

from harness.case import Case, CaseFailure
from harness.relay import device
from harness.steps import ctx_auth_plain, no_auth_sent_upstream

UPSTREAM_TIMEOUT = 1	# seconds (limits.upstream_timeout)


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    started = time.monotonic()
    s.sock.settimeout(UPSTREAM_TIMEOUT + 3)
    try:
        reply = ctx_auth_plain(ctx, s)
    except (smtplib.SMTPServerDisconnected, OSError) as e:
        raise CaseFailure("no reply to AUTH within %d s (upstream_timeout "
                          "%d s): %s" % (UPSTREAM_TIMEOUT + 3,
                                         UPSTREAM_TIMEOUT, e))
    took = time.monotonic() - started
    text = ctx.expect_code(reply, 454, "AUTH with a silent upstream")
    ctx.check(text.startswith("4.7.0"), "AUTH reply %r is not 454 4.7.0"
              % text)
    ctx.check(UPSTREAM_TIMEOUT - 0.2 <= took <= UPSTREAM_TIMEOUT + 1.5,
              "454 came after %.1f s, upstream_timeout is %d s"
              % (took, UPSTREAM_TIMEOUT))
    ctx.check(ctx.fault.wait_event("client left", 5) is not None,
              "the relay did not close the silent upstream connection")
    failed = ctx.relay.wait_session(5, event="login_failed")
    ctx.check(failed is not None, "no event=login_failed line")
    ctx.check(failed.get("result") == "upstream_error" and
              "timed out" in failed.get("reason", ""),
              "login_failed line has result=%s reason=%r"
              % (failed.get("result"), failed.get("reason")))
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    no_auth_sent_upstream(ctx)


def settings(s):
    s["limits"]["upstream_timeout"] = UPSTREAM_TIMEOUT


CASE = Case(
    "silent upstream (no greeting) -> 454 at AUTH after upstream_timeout, "
    "upstream timed out",
    client,
    upstream="silent",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    upstream_connections=1,
    log={"event": "end", "result": "upstream_error", "messages": "0",
         "device": "scanner-1", "reason": "upstream timed out"},
)
