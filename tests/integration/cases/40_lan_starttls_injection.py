"""Commands pipelined after STARTTLS on the LAN side: drop the connection."""

import ssl

from harness.case import Case
from harness.clients import legacy_context
from harness.relay import device
from harness.steps import raw_smtp_ehlo


def client(ctx):
    c = raw_smtp_ehlo(ctx)
    c.send("STARTTLS\r\nEHLO evil\r\n")
    closed, got = c.wait_closed(10)
    ctx.check(closed, "connection still open 10 s after the injection "
              "(received %r)" % got)
    ctx.check(b"\n250" not in b"\n" + got,
              "the relay answered the injected EHLO: %r" % got)
    try:
        legacy_context().wrap_socket(c.sock)
    except (ssl.SSLError, OSError):
        return
    ctx.check(False, "a TLS handshake succeeded after the injection")


CASE = Case(
    "STARTTLS with pipelined EHLO -> connection dropped, result=injection",
    client,
    upstream="counting",
    devices=[device("copier-1", "127.0.0.1")],
    upstream_connections=0,
    log={"event": "end", "result": "injection", "device": "copier-1"},
)
