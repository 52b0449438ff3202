"""limits.prelogin_timeout counts from connecting to logging in: a device
that goes quiet after EHLO, and one that keeps sending NOOP, both get
421 4.4.2 ... Timeout and result=timeout."""

import time

from harness.case import Case
from harness.relay import device

PRELOGIN = 1		# seconds (limits.prelogin_timeout)


def connect_and_ehlo(ctx):
    """A raw client past its EHLO; returns (client, connect time)."""
    started = time.monotonic()
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    c.send("EHLO scanner.lan\r\n")
    code, lines = c.reply()
    ctx.check(code == 250, "EHLO reply %r" % lines)
    return c, started


def expect_timeout(ctx, c, started, what):
    """The next reply is the 421 timeout, in time; then EOF."""
    code, lines = c.reply(PRELOGIN + 3)
    took = time.monotonic() - started
    ctx.check(code == 421 and lines[-1].startswith("421 4.4.2 ") and
              "Timeout" in lines[-1],
              "%s: expected '421 4.4.2 ... Timeout', got %r"
              % (what, lines))
    ctx.check(PRELOGIN - 0.2 <= took <= PRELOGIN + 1.5,
              "%s: 421 came %.1f s after connecting, prelogin_timeout is "
              "%d s" % (what, took, PRELOGIN))
    closed, rest = c.wait_closed(3)
    ctx.check(closed, "%s: connection still open after the 421" % what)


def client(ctx):
    quiet, quiet_started = connect_and_ehlo(ctx)
    busy, busy_started = connect_and_ehlo(ctx)
    # NOOPs must not extend the pre-login time.
    while time.monotonic() - busy_started < PRELOGIN + 1.5:
        busy.send("NOOP\r\n")
        code, lines = busy.reply(PRELOGIN + 3)
        if code != 250:
            break
        time.sleep(0.25)
    ctx.check(code == 421, "a device sending NOOP every 0.25 s was not "
              "timed out within %.1f s (last reply %r)"
              % (PRELOGIN + 1.5, lines))
    ctx.check(lines[-1].startswith("421 4.4.2 ") and "Timeout" in lines[-1],
              "NOOP device: expected '421 4.4.2 ... Timeout', got %r"
              % lines)
    expect_timeout(ctx, quiet, quiet_started, "quiet device")
    ended = ctx.relay.wait_sessions(2, 5, event="end", result="timeout")
    ctx.check(len(ended) == 2, "expected two end lines with result=timeout,"
              " got %d" % len(ended))


def settings(s):
    s["limits"]["prelogin_timeout"] = PRELOGIN


CASE = Case(
    "no login within prelogin_timeout (quiet or NOOPing) -> 421 4.4.2 "
    "Timeout, result=timeout",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    upstream_connections=0,
    log={"event": "end", "result": "timeout", "device": "scanner-1",
         "reason": "device did not log in in time"},
)
