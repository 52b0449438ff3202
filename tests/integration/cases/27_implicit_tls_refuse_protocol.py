"""A device not allowed SMTP, on the SMTPS listener, is judged at accept
like an unknown client: its ClientHello is read but never answered (the
connection closes without a ServerHello), it takes no session slot (with
max_sessions 1 a registered device is served meanwhile), and it gets the
refused line a plain listener gives, a refusal in /metrics and its
refused session, with the TLS version it offered, in the register."""

from harness.case import Case
from harness.relay import device
from harness.steps import one_session_with_metrics, refused_at_accept

POLLER = "127.0.0.3"


def client(ctx):
    refused_at_accept(ctx, POLLER, "mail-poller", "protocol")


CASE = Case(
    "device allowed only pop3 on SMTPS (max_sessions 1) -> closed "
    "unhandshaken, reason=protocol; the registered device is served",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True),
             device("mail-poller", POLLER, protocols=["pop3"])],
    settings=one_session_with_metrics,
    delivered=True,
    log={"event": "refused", "reason": "protocol", "device": "mail-poller",
         "listener": "smtps", "protocol": "smtp"},
)
