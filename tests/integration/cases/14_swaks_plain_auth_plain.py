"""swaks in the clear with AUTH PLAIN (plaintext_auth device)."""

from harness.case import Case
from harness.relay import device
from harness.swaks import swaks


def client(ctx):
    swaks(ctx, ctx.port("smtp"), "--auth", "PLAIN")


CASE = Case(
    "swaks plaintext AUTH PLAIN -> delivered",
    client,
    upstream="postfix",
    devices=[device("monitor-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
    needs=("swaks",),
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "monitor-1"},
)
