"""Unknown, expired and not-allowed devices get "* BYE", no upstream."""

from harness.case import Case, CaseFailure
from harness.imap import refused_with_bye
from harness.relay import device, sunset_in

SUNSET = sunset_in(-1)


def client(ctx):
    refused_with_bye(ctx, source="127.0.0.2")
    text = refused_with_bye(ctx, source="127.0.0.1")
    ctx.check(SUNSET in text, "sunset %s not in the refusal %r"
              % (SUNSET, text))
    refused_with_bye(ctx, source="127.0.0.3")
    for reason, dev in (("expired", "old-scanner"),
                        ("protocol", "smtp-only")):
        fields = ctx.relay.wait_session(10, event="refused", reason=reason,
                                        protocol="imap", device=dev)
        if fields is None:
            raise CaseFailure("no refused line with reason=%s" % reason)
        ctx.check_sunset(fields)


CASE = Case(
    "unknown, expired (sunset yesterday), SMTP-only -> * BYE, no upstream",
    client,
    protocols=("imap",),
    upstream="counting",
    devices=[device("old-scanner", "127.0.0.1", protocols=("imap",),
                    sunset=SUNSET),
             device("smtp-only", "127.0.0.3", protocols=("smtp",))],
    upstream_connections=0,
    log={"event": "refused", "reason": "unknown", "protocol": "imap",
         "client": "127.0.0.2"},
)
