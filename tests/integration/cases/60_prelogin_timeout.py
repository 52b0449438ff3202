"""limits.prelogin_timeout counts from connecting to logging in: a device
that goes quiet after EHLO, and one that keeps sending NOOP, both get
421 4.4.2 ... Timeout and result=timeout."""

import time

from harness.case import Case
from harness.relay import device
from harness.steps import raw_expect_421, raw_smtp_ehlo

PRELOGIN = 1		# seconds (limits.prelogin_timeout)


def connect_and_ehlo(ctx):
    """A raw client past its EHLO; returns (client, connect time)."""
    started = time.monotonic()
    return raw_smtp_ehlo(ctx), started


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
    raw_expect_421(ctx, quiet, "4.4.2", "Timeout", quiet_started,
                   (PRELOGIN - 0.2, PRELOGIN + 1.5),
                   "quiet device, from connecting (prelogin_timeout %d s)"
                   % PRELOGIN)
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
