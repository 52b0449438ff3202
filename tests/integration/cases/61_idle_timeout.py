"""limits.idle_timeout after login: silence right after login, or after a
while of traffic (which keeps the session open), ends the session with
421 4.4.2 ... Timeout and result=timeout (device idle)."""

import time

from harness.case import Case
from harness.clients import b64
from harness.relay import device
from harness.steps import raw_expect_421, raw_smtp_ehlo

IDLE = 1		# seconds (limits.idle_timeout)


def login(ctx):
    """A raw client logged in through the relay to Postfix."""
    c = raw_smtp_ehlo(ctx)
    c.send("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (ctx.user, ctx.password)))
    code, lines = c.reply()
    ctx.check(code == 235, "AUTH PLAIN reply %r" % lines)
    return c


def expect_idle_timeout(ctx, c, what):
    """Say nothing: the 421 must come after about IDLE seconds, then EOF."""
    raw_expect_421(ctx, c, "4.4.2", "Timeout", time.monotonic(),
                   (IDLE - 0.3, IDLE + 1.5),
                   "%s, from the last command (idle_timeout %d s)"
                   % (what, IDLE))


def client(ctx):
    expect_idle_timeout(ctx, login(ctx), "idle right after login")

    c = login(ctx)
    # Commands relayed to Postfix count as activity: twice the idle time.
    started = time.monotonic()
    while time.monotonic() - started < 2 * IDLE:
        c.send("NOOP\r\n")
        code, lines = c.reply(5)
        ctx.check(code == 250, "NOOP %.1f s after login got %r (idle "
                  "timeout %d s should restart on traffic)"
                  % (time.monotonic() - started, lines, IDLE))
        time.sleep(IDLE / 4)
    expect_idle_timeout(ctx, c, "idle after traffic")
    ended = ctx.relay.wait_sessions(2, 5, event="end", result="timeout")
    ctx.check(len(ended) == 2, "expected two end lines with result=timeout,"
              " got %d" % len(ended))


def settings(s):
    s["limits"]["idle_timeout"] = IDLE


CASE = Case(
    "logged in, then idle past idle_timeout -> 421 4.4.2 Timeout, "
    "result=timeout (idle)",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    log={"event": "end", "result": "timeout", "device": "scanner-1",
         "user": "scanner@example.test",
         "reason": lambda v: "idle" in v,
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
