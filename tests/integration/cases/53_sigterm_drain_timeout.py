"""SIGTERM with a session that does not finish: after drain_timeout the
device gets 421 4.3.2 (shutting down), result=shutdown, and tlsrelayd
exits 0."""

import signal
import time

from harness.case import Case
from harness.relay import device
from harness.steps import raw_expect_421, raw_smtp_ehlo

DRAIN = 1		# seconds (limits.drain_timeout)


def client(ctx):
    c = raw_smtp_ehlo(ctx)
    started = time.monotonic()
    ctx.relay.signal(signal.SIGTERM)
    raw_expect_421(ctx, c, "4.3.2", "shutting down", started,
                   (DRAIN - 0.2, DRAIN + 1.5),
                   "after SIGTERM (drain_timeout %d s)" % DRAIN)
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
