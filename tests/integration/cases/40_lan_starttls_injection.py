"""Commands pipelined after STARTTLS on the LAN side: drop the connection."""

from harness.case import Case
from harness.relay import device
from harness.steps import injection_dropped, raw_smtp_ehlo


def client(ctx):
    c = raw_smtp_ehlo(ctx)
    injection_dropped(ctx, c, "STARTTLS\r\nEHLO evil\r\n",
                      lambda got: b"\n250" in b"\n" + got)


CASE = Case(
    "STARTTLS with pipelined EHLO -> connection dropped, result=injection",
    client,
    upstream="counting",
    devices=[device("copier-1", "127.0.0.1")],
    upstream_connections=0,
    log={"event": "end", "result": "injection", "device": "copier-1"},
)
