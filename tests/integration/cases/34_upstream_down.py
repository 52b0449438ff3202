"""The upstream port is closed: temporary failure at AUTH."""

from harness.case import Case
from harness.relay import device
from harness.steps import auth_tempfails

CASE = Case(
    "upstream down (closed port) -> 4xx at AUTH, upstream_unreachable",
    auth_tempfails,
    upstream="down",
    devices=[device("scanner-1", "127.0.0.1", plaintext_auth=True)],
    log={"event": "end", "result": "upstream_unreachable",
         "messages": "0", "device": "scanner-1"},
)
