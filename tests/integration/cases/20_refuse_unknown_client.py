"""A client address in no device entry gets 554 5.7.1 and no upstream."""

from harness.case import Case
from harness.relay import device
from harness.steps import refused_greeting


def client(ctx):
    refused_greeting(ctx, source="127.0.0.2")


CASE = Case(
    "unknown client 127.0.0.2 -> 554 5.7.1, reason=unknown, no upstream",
    client,
    upstream="counting",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=0,
    log={"event": "refused", "reason": "unknown", "protocol": "smtp",
         "client": lambda v: v.startswith("127.0.0.2")},
)
