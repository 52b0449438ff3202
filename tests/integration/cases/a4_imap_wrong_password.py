"""A wrong password: NO [AUTHENTICATIONFAILED] under the device's tag."""

from harness.case import Case
from harness.imap import login_tagged, raw
from harness.relay import device


def client(ctx):
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    last = login_tagged(ctx, c, password="wrong-Pass-1")
    ctx.check(last.startswith("A1 NO [AUTHENTICATIONFAILED]"),
              "wrong password: %r" % last)
    lines = c.command("A2", "NOOP")
    ctx.check(lines[-1].startswith("A2 OK"), "NOOP after failure: %r"
              % lines)
    lines = c.command("A3", "LOGOUT")
    ctx.check(lines[-1].startswith("A3 OK"), "LOGOUT: %r" % lines)


CASE = Case(
    "wrong password -> A1 NO [AUTHENTICATIONFAILED], result=auth_failed",
    client,
    protocols=("imap",),
    devices=[device("mfp-6", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "auth_failed", "protocol": "imap",
         "device": "mfp-6"},
)
