"""A device allowed SMTP only gets -ERR on POP3; on POP3S it is refused
at accept: its ClientHello is read, never answered, and it is closed."""

from harness.case import Case
from harness.pop3 import raw
from harness.relay import device
from harness.steps import refused_before_handshake


def client(ctx):
    c, greeting = raw(ctx, "pop3")
    ctx.check(greeting is not None and greeting.startswith("-ERR ") and
              "may not use pop3" in greeting, "pop3 greeting: %r" % greeting)
    closed, _ = c.wait_closed(10)
    ctx.check(closed, "relay did not close the refused connection")
    refused_before_handshake(ctx, "pop3s")
    lines = ctx.relay.wait_sessions(2, event="refused", reason="protocol")
    ctx.check(len(lines) == 2, "%d refused lines, want 2" % len(lines))


CASE = Case(
    "device without pop3 -> -ERR + close (plain), closed unhandshaken "
    "(POP3S), no upstream",
    client,
    protocols=("pop3",),
    upstream="counting",
    devices=[device("printer-1", "127.0.0.1", protocols=["smtp"])],
    upstream_connections=0,
    log={"event": "refused", "reason": "protocol", "protocol": "pop3",
         "device": "printer-1"},
)
