"""An upstream whose TLS stops at 1.1: AUTH gets a temporary failure."""

from harness.case import Case
from harness.relay import device
from harness.steps import auth_tempfails, no_auth_sent_upstream


def client(ctx):
    auth_tempfails(ctx)
    ctx.check(ctx.fault.wait_event("tls_failed") is not None,
              "the fault server saw no failed TLS handshake")
    no_auth_sent_upstream(ctx)


CASE = Case(
    "upstream offers only TLS <= 1.1 -> 4xx at AUTH, upstream_tls_failed",
    client,
    upstream="tls11",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=lambda n: n >= 1,
    delivered=None,
    log={"event": "end", "result": "upstream_tls_failed",
         "messages": "0", "device": "scanner-1"},
)
