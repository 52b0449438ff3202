"""The upstream takes the whole message and closes without answering the
final dot: the device hears 451 4.4.0 ... may have been delivered, not "not
delivered", and the log says the outcome is unknown."""

from harness.case import Case
from harness.relay import device
from harness.unconfirmed import send_unconfirmed


CASE = Case(
    "upstream closes after the final dot -> 451 4.4.0 outcome unknown",
    send_unconfirmed,
    upstream="close_dot",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    upstream_connections=1,
    log={"event": "end", "result": "upstream_error", "messages": "0",
         "device": "scanner-1",
         "reason": lambda v: "outcome unknown" in v},
)
