"""A client address in no device entry gets -ERR, a close, no upstream."""

from harness.case import Case
from harness.pop3 import refused
from harness.relay import device


def client(ctx):
    refused(ctx, source="127.0.0.2", contains="is not an allowed device")


CASE = Case(
    "unknown client 127.0.0.2 -> -ERR + close, reason=unknown, no upstream",
    client,
    protocols=("pop3",),
    upstream="counting",
    devices=[device(
        "scanner-1", "127.0.0.1", protocols=["pop3"], plaintext_auth=True)],
    upstream_connections=0,
    log={"event": "refused", "reason": "unknown", "protocol": "pop3",
         "client": "127.0.0.2"},
)
