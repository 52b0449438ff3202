"""Connector relay with a client certificate from a CA the MX stand-in
does not trust: the stand-in ends the session after STARTTLS (421 4.7.1
... Client certificate not trusted); the device gets a temporary 4xx at
MAIL FROM, nothing is delivered, and the relay keeps serving."""

from harness.case import Case
from harness.fixtures import mx
from harness.mx import SENDER, upstream_refused_client
from harness.relay import device

CASE = Case(
    "connector relay: client certificate from an untrusted CA -> stand-in "
    "421 after STARTTLS -> device 4xx, not delivered",
    upstream_refused_client("NOQUEUE: abort: TLS from",
                            "Client certificate not trusted"),
    upstream="counting",
    fixtures=[mx(certificate="untrusted", connections=2)],
    upstream_connections=0,
    devices=[device("mfp-1", "127.0.0.1", auth="connector",
                    senders=[SENDER])],
    delivered=False,
)
