"""Commands pipelined after STLS on the LAN side: drop the connection."""

import ssl

from harness.case import Case
from harness.clients import legacy_context
from harness.pop3 import raw
from harness.relay import device


def client(ctx):
    c, greeting = raw(ctx, "pop3")
    ctx.check(greeting.startswith("+OK"), "greeting %r" % greeting)
    c.send("STLS\r\nUSER evil\r\n")
    closed, got = c.wait_closed(10)
    ctx.check(closed, "connection still open 10 s after the injection "
              "(received %r)" % got)
    ctx.check(b"+OK" not in got, "the relay answered after the injection: "
              "%r" % got)
    try:
        legacy_context().wrap_socket(c.sock)
    except (ssl.SSLError, OSError):
        return
    ctx.check(False, "a TLS handshake succeeded after the injection")


CASE = Case(
    "STLS with a pipelined USER -> connection dropped, result=injection",
    client,
    protocols=("pop3",),
    upstream="counting",
    devices=[device("copier-1", "127.0.0.1", protocols=["pop3"])],
    upstream_connections=0,
    log={"event": "end", "result": "injection", "device": "copier-1",
         "protocol": "pop3"},
)
