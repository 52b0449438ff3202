"""A device whose sunset was yesterday is refused with the date shown."""

from harness.case import Case
from harness.relay import device, sunset_in
from harness.steps import refused_greeting

SUNSET = sunset_in(-1)


def client(ctx):
    text = refused_greeting(ctx)
    ctx.check(SUNSET in text, "sunset date %s not in the refusal %r"
              % (SUNSET, text))


CASE = Case(
    "expired device (sunset yesterday) -> 554 with the date, reason=expired",
    client,
    upstream="counting",
    devices=[device("old-fax", "127.0.0.1", sunset=SUNSET,
                    plaintext_auth=True)],
    upstream_connections=0,
    log={"event": "refused", "reason": "expired", "device": "old-fax",
         "sunset": SUNSET, "days_left": "-1"},
)
