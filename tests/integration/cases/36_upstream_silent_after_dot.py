"""The upstream takes the whole message and never answers the final dot:
after limits.upstream_timeout the device hears 451 4.4.0 ... may have been
delivered (a retry may make a duplicate), not "not delivered", and the log
says the outcome is unknown."""

from harness.upstream_faults import send_unconfirmed, smtp_fault_case


def settings(s):
    s["limits"]["upstream_timeout"] = 1


CASE = smtp_fault_case(
    "upstream silent after the final dot -> 451 4.4.0 outcome unknown",
    send_unconfirmed,
    "silent_dot",
    reason=lambda v: "timed out" in v and "outcome unknown" in v,
    settings=settings,
)
