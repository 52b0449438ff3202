"""The upstream takes the whole message and never answers the final dot:
after limits.upstream_timeout the device hears 451 4.4.0 ... may have been
delivered (a retry may make a duplicate), not "not delivered", and the log
says the outcome is unknown."""

from harness.case import Case
from harness.relay import device
from harness.unconfirmed import send_unconfirmed


def settings(s):
    s["limits"]["upstream_timeout"] = 1


CASE = Case(
    "upstream silent after the final dot -> 451 4.4.0 outcome unknown",
    send_unconfirmed,
    upstream="silent_dot",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    settings=settings,
    upstream_connections=1,
    log={"event": "end", "result": "upstream_error", "messages": "0",
         "device": "scanner-1",
         "reason": lambda v: "timed out" in v and "outcome unknown" in v},
)
