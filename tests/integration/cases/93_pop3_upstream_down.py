"""The upstream port is closed: -ERR [SYS/TEMP] at PASS."""

from harness.case import Case
from harness.pop3 import login_refused
from harness.relay import device


def client(ctx):
    login_refused(ctx, "SYS/TEMP", "pop3", tls="stls")


CASE = Case(
    "upstream down (closed port) -> -ERR [SYS/TEMP], upstream_unreachable",
    client,
    protocols=("pop3",),
    upstream="down",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "upstream_unreachable", "messages": "0",
         "device": "scanner-1", "user": "scanner@example.test"},
)
