"""A command pipelined after STARTTLS on the LAN side: connection dropped."""

from harness.case import Case
from harness.imap import raw
from harness.relay import device
from harness.steps import injection_dropped


def client(ctx):
    c = raw(ctx, "imap")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    injection_dropped(ctx, c, 'A1 STARTTLS\r\nA2 LOGIN "evil" "x"\r\n',
                      lambda got: b"A2 " in got or b"A1 OK" in got)


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
