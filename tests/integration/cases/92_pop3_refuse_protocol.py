"""A device allowed SMTP only gets -ERR on POP3, also over implicit TLS."""

from harness.case import Case
from harness.pop3 import raw
from harness.relay import device


def client(ctx):
    for listener, tls in (("pop3", False), ("pop3s", True)):
        c, greeting = raw(ctx, listener, tls=tls)
        ctx.check(greeting is not None and greeting.startswith("-ERR ") and
                  "may not use pop3" in greeting,
                  "%s greeting: %r" % (listener, greeting))
        closed, _ = c.wait_closed(10)
        ctx.check(closed, "relay did not close the refused connection")
    lines = ctx.relay.wait_sessions(2, event="refused", reason="protocol")
    ctx.check(len(lines) == 2, "%d refused lines, want 2" % len(lines))


CASE = Case(
    "device without pop3 -> -ERR + close (plain and POP3S), no upstream",
    client,
    protocols=("pop3",),
    upstream="counting",
    devices=[device("printer-1", "127.0.0.1", protocols=["smtp"])],
    upstream_connections=0,
    log={"event": "refused", "reason": "protocol", "protocol": "pop3",
         "device": "printer-1"},
)
