"""An upstream certificate for another host name: temporary failure."""

from harness.case import Case
from harness.relay import device
from harness.steps import auth_tempfails, no_auth_sent_upstream


def client(ctx):
    auth_tempfails(ctx)
    no_auth_sent_upstream(ctx)


CASE = Case(
    "upstream cert for wrong.example -> 4xx at AUTH, upstream_tls_failed",
    client,
    upstream="wrongname",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=lambda n: n >= 1,
    log={"event": "end", "result": "upstream_tls_failed",
         "messages": "0", "device": "scanner-1"},
)
