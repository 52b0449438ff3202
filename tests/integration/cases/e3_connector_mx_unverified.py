"""Connector relay whose ca_file does not trust the MX stand-in's
certificate: the relay must not go on after STARTTLS (the stand-in sees
the handshake fail); the device gets a 4xx at MAIL FROM and nothing is
delivered."""

from harness.case import Case
from harness.fixtures import mx
from harness.mx import SENDER, upstream_refused_client
from harness.relay import device


def client(ctx):
    upstream_refused_client("TLS library problem", "alert unknown ca",
                            "upstream certificate not trusted")(ctx)
    ctx.check(not [l for l in ctx.mx_log() if "TLS connection established"
                   in l or "MAIL" in l],
              "the relay went on with an unverified stand-in: %r"
              % ctx.mx_log())


CASE = Case(
    "connector relay: MX certificate not verifiable with ca_file -> no "
    "MAIL upstream, device 4xx, not delivered",
    client,
    upstream="counting",
    fixtures=[mx(connections=2, ca_file=lambda pki: pki.untrusted_ca()[0])],
    upstream_connections=0,
    devices=[device("mfp-1", "127.0.0.1", auth="connector",
                    senders=[SENDER])],
    delivered=False,
    log={"event": "end", "result": "upstream_tls_failed", "messages": "0",
         "device": "mfp-1"},
)
