"""Connector relay with a certificate the test CA signed but whose
fingerprint the MX stand-in does not list: TLS succeeds, the stand-in
refuses MAIL FROM as Exchange Online does when no connector matches (550
5.7.64 TenantAttribution; Relay Access Denied); the relay explains it, so
the device gets a temporary 4xx (the connector, not the sender, is at
fault), nothing is delivered, the relay logs an upstream_refusal line
with code=relay_denied, and the session itself ends ok (the device quits
after the refusal)."""

from harness.case import Case
from harness.fixtures import mx
from harness.mx import SENDER, upstream_refused_client
from harness.relay import device

CASE = Case(
    "connector relay: CA-signed certificate not in relay_clientcerts -> "
    "stand-in 550 5.7.64 at MAIL -> device 4xx, not delivered",
    upstream_refused_client("NOQUEUE: reject: MAIL from",
                            "TenantAttribution; Relay Access Denied",
                            relay_reason="code=relay_denied",
                            result=lambda r: r == "ok"),
    upstream="counting",
    fixtures=[mx(certificate="unlisted", connections=2)],
    upstream_connections=0,
    devices=[device("mfp-1", "127.0.0.1", auth="connector",
                    senders=[SENDER])],
    delivered=False,
)
