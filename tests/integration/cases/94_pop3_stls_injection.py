"""Commands pipelined after STLS on the LAN side: drop the connection."""

from harness.case import Case
from harness.pop3 import raw
from harness.relay import device
from harness.steps import injection_dropped


def client(ctx):
    c, greeting = raw(ctx, "pop3")
    ctx.check(greeting.startswith("+OK"), "greeting %r" % greeting)
    injection_dropped(ctx, c, "STLS\r\nUSER evil\r\n",
                      lambda got: b"+OK" in got)


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
