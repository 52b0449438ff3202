"""A self-signed upstream certificate: temporary failure, no credentials."""

from harness.upstream_faults import (smtp_fault_case,
                                     tempfail_without_credentials)


CASE = smtp_fault_case(
    "self-signed upstream cert -> 4xx at AUTH, upstream_tls_failed",
    tempfail_without_credentials,
    "selfsigned",
    result="upstream_tls_failed",
    upstream_connections=lambda n: n >= 1,
)
