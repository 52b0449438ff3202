"""The upstream takes the whole message and closes without answering the
final dot: the device hears 451 4.4.0 ... may have been delivered, not "not
delivered", and the log says the outcome is unknown."""

from harness.upstream_faults import send_unconfirmed, smtp_fault_case


CASE = smtp_fault_case(
    "upstream closes after the final dot -> 451 4.4.0 outcome unknown",
    send_unconfirmed,
    "close_dot",
    reason=lambda v: "outcome unknown" in v,
)
