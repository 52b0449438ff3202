"""swaks with STARTTLS pinned to TLS 1.0 and AUTH LOGIN."""

from harness.case import Case
from harness.relay import device
from harness.swaks import swaks


def client(ctx):
    out = swaks(ctx, ctx.port("smtp"), "--tls", "--tls-protocol", "tlsv1",
                "--auth", "LOGIN")
    ctx.check("TLS started with cipher TLSv1:" in out,
              "swaks did not negotiate TLS 1.0")


CASE = Case(
    "swaks STARTTLS TLS 1.0 + AUTH LOGIN -> delivered",
    client,
    upstream="postfix",
    devices=[device("scanner-2", "127.0.0.1")],
    delivered=True,
    needs=("swaks",),
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-2", "lan_tls": "TLSv1"},
)
