"""SIGTERM drains: the listeners close at once, the session in progress
still delivers and quits, then tlsrelayd exits 0 by itself."""

import signal
import socket

from harness.case import Case
from harness.relay import device
from harness.steps import ctx_auth_plain

DRAIN = 30		# seconds (limits.drain_timeout): far longer than needed


def connect_refused(ctx, listener):
    """A new connection to a listener must be refused outright."""
    try:
        socket.create_connection(("127.0.0.1", ctx.port(listener)),
                                 timeout=3).close()
    except ConnectionRefusedError:
        return
    ctx.check(False, "listener %s still accepts connections after "
              "SIGTERM" % listener)


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    ctx.expect_code(ctx_auth_plain(ctx, s), 235, "AUTH PLAIN")

    mark = len(ctx.relay.lines())
    ctx.relay.signal(signal.SIGTERM)
    ctx.relay.wait_line(lambda l: "shutting down: 1 sessions" in l, 5,
                        since=mark, what="'shutting down: 1 sessions'")
    connect_refused(ctx, "smtp")
    connect_refused(ctx, "smtps")

    ctx.send(s)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT during the drain")
    status = ctx.relay.wait_exit(10)
    ctx.check(status == 0, "tlsrelayd exit status %s after the drained "
              "session ended (expected 0 within 10 s, drain_timeout %d s)"
              % (status, DRAIN))
    ctx.check(any("tlsrelayd stopped" in l for l in ctx.relay.lines()),
              "no 'tlsrelayd stopped' line")


def settings(s):
    s["limits"]["drain_timeout"] = DRAIN


CASE = Case(
    "SIGTERM: listeners closed, the open session delivers and quits, "
    "exit 0, result=ok",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1"},
)
