"""An upstream whose TLS stops at 1.1: AUTH gets a temporary failure."""

from harness.steps import auth_tempfails, no_auth_sent_upstream
from harness.upstream_faults import smtp_fault_case


def client(ctx):
    auth_tempfails(ctx)
    ctx.check(ctx.fault.wait_event("tls_failed") is not None,
              "the fault server saw no failed TLS handshake")
    no_auth_sent_upstream(ctx)


CASE = smtp_fault_case(
    "upstream offers only TLS <= 1.1 -> 4xx at AUTH, upstream_tls_failed",
    client,
    "tls11",
    result="upstream_tls_failed",
    upstream_connections=lambda n: n >= 1,
)
