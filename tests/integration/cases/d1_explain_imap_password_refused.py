"""A passthrough device's password refused by Exchange Online over IMAP
("NO AUTHENTICATE failed.", the words it also has for a token it
refuses): Exchange says the same for a wrong password, so the device gets
the ordinary NO [AUTHENTICATIONFAILED] under its own tag, the log the
ordinary login_failed with the upstream's text, and no upstream_refusal
line is written."""

import re

from harness.case import Case
from harness.imap import EXCHANGE_REFUSAL, login_tagged, raw
from harness.relay import device
from harness.steps import expect_login_failed, expect_unexplained

DEVICE_REPLY = "A1 NO [AUTHENTICATIONFAILED] Authentication failed."


def refused_reason(value):
    """upstream refused the login: <relay's tag> NO AUTHENTICATE failed."""
    return re.fullmatch(r"upstream refused the login: tr\d+ "
                        + re.escape(EXCHANGE_REFUSAL), value) is not None


def client(ctx):
    c = raw(ctx, "imaps")
    ctx.check(c.line().startswith("* OK "), "no greeting")
    last = login_tagged(ctx, c)
    ctx.check(last == DEVICE_REPLY, "LOGIN: %r, expected %r"
              % (last, DEVICE_REPLY))
    lines = c.command("A2", "LOGOUT")
    ctx.check(lines[-1].startswith("A2 OK"), "LOGOUT: %r" % lines)
    ctx.check(ctx.fault.events[-1:] == ["auth: PLAIN %s %s"
                                        % (ctx.user, ctx.password)],
              "the relay did not log in with the device's password: %r"
              % [" ".join(e.split(" ")[:2]) for e in ctx.fault.events])
    failed = expect_login_failed(ctx, {"device": "mfp-6", "user": ctx.user,
                                       "result": "auth_failed"})
    ctx.check(refused_reason(failed.get("reason", "")),
              "login_failed reason: %r" % failed.get("reason"))
    expect_unexplained(ctx, "imap")


CASE = Case(
    "passthrough password refused with Exchange's NO AUTHENTICATE failed "
    "-> A1 NO [AUTHENTICATIONFAILED], login_failed, no upstream_refusal",
    client,
    protocols=("imap",),
    upstream="exchange",
    devices=[device("mfp-6", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "auth_failed", "protocol": "imap",
         "device": "mfp-6", "reason": refused_reason},
)
