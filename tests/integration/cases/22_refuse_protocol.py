"""A device allowed only POP3 is refused on the SMTP listener."""

from harness.case import Case
from harness.relay import device
from harness.steps import refused_greeting


def client(ctx):
    refused_greeting(ctx)


CASE = Case(
    "device allowed only pop3 -> 554 on SMTP, reason=protocol, no upstream",
    client,
    upstream="counting",
    devices=[device("mail-poller", "127.0.0.1", protocols=["pop3"])],
    upstream_connections=0,
    log={"event": "refused", "reason": "protocol", "device": "mail-poller",
         "protocol": "smtp"},
)
