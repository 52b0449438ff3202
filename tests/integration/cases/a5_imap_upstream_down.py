"""The upstream port is closed: NO [UNAVAILABLE] at LOGIN."""

from harness.case import Case
from harness.imap import login_tagged, raw
from harness.relay import device


def client(ctx):
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    last = login_tagged(ctx, c)
    ctx.check(last.startswith("A1 NO [UNAVAILABLE]"),
              "LOGIN with the upstream down: %r" % last)
    lines = c.command("A2", "LOGOUT")
    ctx.check(lines[-1].startswith("A2 OK"), "LOGOUT: %r" % lines)


CASE = Case(
    "upstream down (closed port) -> NO [UNAVAILABLE], upstream_unreachable",
    client,
    protocols=("imap",),
    upstream="down",
    devices=[device("mfp-7", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "upstream_unreachable",
         "protocol": "imap", "device": "mfp-7"},
)
