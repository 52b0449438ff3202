"""A passthrough device's password refused by Exchange Online over POP3
("-ERR Authentication failure: ...", the words it also has for a token it
refuses): Exchange says the same for a wrong password, so the device gets
the ordinary -ERR [AUTH], the log the ordinary login_failed with the
upstream's text, and no upstream_refusal line is written."""

from harness.case import Case
from harness.pop3 import connect, expect_err, login
from harness.pop3fault import EXCHANGE_REFUSAL
from harness.relay import device
from harness.steps import expect_login_failed, expect_unexplained

DEVICE_REPLY = "-ERR [AUTH] Authentication failed"
REASON = "upstream refused the login: " + EXCHANGE_REFUSAL


def client(ctx):
    p = connect(ctx, "pop3s", tls="implicit")
    text = expect_err(ctx, lambda: login(ctx, p), "AUTH", "PASS")
    ctx.check(text == DEVICE_REPLY, "PASS: %r, expected %r"
              % (text, DEVICE_REPLY))
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    sent = ctx.pop3_fault.sent()
    ctx.check(sent == ["CAPA", "USER " + ctx.user, "PASS " + ctx.password],
              "the relay did not log in with USER/PASS: %r"
              % [l.split(" ")[0] for l in sent])
    expect_login_failed(ctx, {"device": "scanner-1", "user": ctx.user,
                              "result": "auth_failed", "reason": REASON})
    expect_unexplained(ctx, "pop3")


CASE = Case(
    "passthrough password refused with Exchange's -ERR Authentication "
    "failure -> -ERR [AUTH], login_failed, no upstream_refusal",
    client,
    protocols=("pop3",),
    upstream="exchange",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "auth_failed", "device": "scanner-1",
         "reason": REASON},
)
