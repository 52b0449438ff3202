"""A command pipelined after STARTTLS on the LAN side: connection dropped."""

import ssl

from harness.case import Case
from harness.clients import legacy_context
from harness.imap import raw
from harness.relay import device


def client(ctx):
    c = raw(ctx, "imap")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    c.send('A1 STARTTLS\r\nA2 LOGIN "evil" "x"\r\n')
    closed, got = c.wait_closed(10)
    ctx.check(closed, "connection still open 10 s after the injection "
              "(received %r)" % got)
    ctx.check(b"A2 " not in got and b"A1 OK" not in got,
              "the relay answered around the injection: %r" % got)
    try:
        legacy_context().wrap_socket(c.sock)
    except (ssl.SSLError, OSError):
        return
    ctx.check(False, "a TLS handshake succeeded after the injection")


CASE = Case(
    "STARTTLS with a pipelined LOGIN -> dropped, result=injection",
    client,
    protocols=("imap",),
    upstream="counting",
    devices=[device("mfp-9", "127.0.0.1", protocols=("imap",))],
    upstream_connections=0,
    log={"event": "end", "result": "injection", "protocol": "imap",
         "device": "mfp-9"},
)
