"""An upstream that greets with PREAUTH is an error; nothing is sent."""

from harness.case import Case
from harness.imap import login_tagged, no_credentials_upstream, raw
from harness.relay import device


def client(ctx):
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    last = login_tagged(ctx, c)
    ctx.check(last.startswith("A1 NO [UNAVAILABLE]"),
              "LOGIN with a PREAUTH upstream: %r" % last)
    no_credentials_upstream(ctx)
    lines = c.command("A2", "LOGOUT")
    ctx.check(lines[-1].startswith("A2 OK"), "LOGOUT: %r" % lines)


CASE = Case(
    "upstream greets * PREAUTH -> NO [UNAVAILABLE], result=upstream_error",
    client,
    protocols=("imap",),
    upstream="preauth",
    devices=[device("mfp-10", "127.0.0.1", protocols=("imap",))],
    upstream_connections=1,
    log={"event": "end", "result": "upstream_error", "protocol": "imap",
         "device": "mfp-10", "reason": lambda v: "PREAUTH" in v},
)
