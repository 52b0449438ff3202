"""An upstream without STARTTLS: never fall back to plaintext AUTH."""

from harness.upstream_faults import (smtp_fault_case,
                                     tempfail_without_credentials)


CASE = smtp_fault_case(
    "upstream without STARTTLS -> 4xx at AUTH, no plaintext AUTH upstream",
    tempfail_without_credentials,
    "nostarttls",
    result={"upstream_tls_failed", "upstream_error"},
    upstream_connections=lambda n: n >= 1,
)
