"""The upstream port is closed: temporary failure at AUTH."""

from harness.steps import auth_tempfails
from harness.upstream_faults import smtp_fault_case

CASE = smtp_fault_case(
    "upstream down (closed port) -> 4xx at AUTH, upstream_unreachable",
    auth_tempfails,
    "down",
    result="upstream_unreachable",
    upstream_connections=None,
)
