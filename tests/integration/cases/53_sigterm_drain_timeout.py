"""SIGTERM with a session that does not finish: after drain_timeout the
device gets 421 4.3.2 (shutting down), result=shutdown, and tlsrelayd
exits 0."""

import signal
import time

from harness.case import Case
from harness.relay import device

DRAIN = 1		# seconds (limits.drain_timeout)


def client(ctx):
    c = ctx.raw("smtp")
    code, lines = c.reply()
    ctx.check(code == 220, "greeting %r" % lines)
    c.send("EHLO scanner.lan\r\n")
    code, lines = c.reply()
    ctx.check(code == 250, "EHLO reply %r" % lines)

    started = time.monotonic()
    ctx.relay.signal(signal.SIGTERM)
    code, lines = c.reply(DRAIN + 3)
    took = time.monotonic() - started
    ctx.check(code == 421 and lines[-1].startswith("421 4.3.2 "),
              "expected '421 4.3.2 ... shutting down' after the drain, got "
              "%r" % lines)
    ctx.check(DRAIN - 0.2 <= took <= DRAIN + 1.5,
              "421 came %.1f s after SIGTERM, drain_timeout is %d s"
              % (took, DRAIN))
    closed, rest = c.wait_closed(3)
    ctx.check(closed, "connection still open after the 421")
    status = ctx.relay.wait_exit(5)
    ctx.check(status == 0, "tlsrelayd exit status %s after the drain "
              "timeout (expected 0)" % status)


def settings(s):
    s["limits"]["drain_timeout"] = DRAIN


CASE = Case(
    "SIGTERM, session left open -> 421 4.3.2 after drain_timeout, "
    "result=shutdown, exit 0",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1")],
    settings=settings,
    upstream_connections=0,
    log={"event": "end", "result": "shutdown", "device": "scanner-1"},
)
