"""A device past its sunset on an implicit-TLS listener is judged at
accept like an unknown client: its ClientHello is read but never answered
(the connection closes without a ServerHello), it takes no session slot
(with max_sessions 1 a registered device is served meanwhile), and it
gets the refused line a plain listener gives (device, sunset, days_left),
a refusal in /metrics and its refused session, with the TLS version it
offered, in the register."""

from harness.case import Case
from harness.relay import device, sunset_in
from harness.steps import one_session_with_metrics, refused_at_accept

SUNSET = sunset_in(-1)
EXPIRED = "127.0.0.3"


def client(ctx):
    refused_at_accept(ctx, EXPIRED, "old-fax", "expired")


CASE = Case(
    "expired device on SMTPS (max_sessions 1) -> closed unhandshaken, "
    "reason=expired with its sunset; the registered device is served",
    client,
    upstream="postfix",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True),
             device("old-fax", EXPIRED, sunset=SUNSET)],
    settings=one_session_with_metrics,
    delivered=True,
    log={"event": "refused", "reason": "expired", "device": "old-fax",
         "listener": "smtps", "sunset": SUNSET, "days_left": "-1"},
)
