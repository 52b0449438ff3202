"""An upstream certificate for another name: NO [UNAVAILABLE], and the
credentials never leave the relay."""

from harness.case import Case
from harness.imap import login_tagged, no_credentials_upstream, raw
from harness.relay import device


def client(ctx):
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    last = login_tagged(ctx, c)
    ctx.check(last.startswith("A1 NO [UNAVAILABLE]"),
              "LOGIN with a wrong upstream certificate: %r" % last)
    no_credentials_upstream(ctx)


CASE = Case(
    "upstream cert for wrong.example -> NO [UNAVAILABLE], upstream_tls_failed",
    client,
    protocols=("imap",),
    upstream="wrongname",
    devices=[device("mfp-8", "127.0.0.1", protocols=("imap",))],
    upstream_connections=lambda n: n >= 1,
    log={"event": "end", "result": "upstream_tls_failed",
         "protocol": "imap", "device": "mfp-8",
         "reason": lambda v: "wrong.example" in v or "certificate" in v},
)
