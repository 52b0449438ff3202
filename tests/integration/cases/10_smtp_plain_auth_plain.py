"""Plaintext SMTP with AUTH PLAIN for a device allowed plaintext AUTH."""

from harness.case import Case
from harness.relay import device
from harness.steps import plain_auth_and_send

CASE = Case(
    "plain listener, AUTH PLAIN in the clear (plaintext_auth) -> delivered",
    plain_auth_and_send,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "scanner-1", "protocol": "smtp",
         "user": "scanner@example.test",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
