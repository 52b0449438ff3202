"""An upstream certificate for another host name: temporary failure."""

from harness.upstream_faults import (smtp_fault_case,
                                     tempfail_without_credentials)


CASE = smtp_fault_case(
    "upstream cert for wrong.example -> 4xx at AUTH, upstream_tls_failed",
    tempfail_without_credentials,
    "wrongname",
    result="upstream_tls_failed",
    upstream_connections=lambda n: n >= 1,
)
