"""A device past its sunset date gets -ERR naming the date, and a close."""

from harness.case import Case
from harness.pop3 import refused
from harness.relay import device, sunset_in

SUNSET = sunset_in(-1)


def client(ctx):
    refused(ctx, contains="ended on %s" % SUNSET)


CASE = Case(
    "expired device -> -ERR + close, reason=expired, no upstream",
    client,
    protocols=("pop3",),
    upstream="counting",
    devices=[device("scanner-old", "127.0.0.1", protocols=["pop3"],
                    sunset=SUNSET)],
    upstream_connections=0,
    log={"event": "refused", "reason": "expired", "protocol": "pop3",
         "device": "scanner-old", "days_left": "-1"},
)
