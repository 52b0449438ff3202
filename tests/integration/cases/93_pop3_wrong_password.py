"""A wrong password: the device gets -ERR [AUTH], the upstream's refusal is
logged, result=auth_failed; the device may try again."""

from harness.case import Case
from harness.pop3 import connect, expect_err, login, session_end
from harness.relay import device

WRONG = "wrong-Pass-42"


def client(ctx):
    p = connect(ctx, "pop3s", tls="implicit")
    expect_err(ctx, lambda: login(ctx, p, password=WRONG), "AUTH",
               "PASS with a wrong password")
    expect_err(ctx, lambda: p.stat(), None, "STAT after a failed login")
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    failed = ctx.relay.wait_session(event="login_failed")
    ctx.check(failed is not None and failed.get("result") == "auth_failed"
              and "Authentication failed" in failed.get("reason", ""),
              "login_failed line: %r" % failed)
    ctx.check(ctx.mailbox.count() == 3, "mailbox changed")
    session_end(ctx, result="auth_failed", messages="0")
    p = connect(ctx, "pop3s", tls="implicit")
    expect_err(ctx, lambda: login(ctx, p, password=WRONG), "AUTH",
               "first try")
    ctx.check(login(ctx, p).startswith(b"+OK"), "second try refused")
    ctx.check(p.stat()[0] == 3, "STAT after the second try")
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    session_end(ctx, result="ok")


CASE = Case(
    "wrong password -> -ERR [AUTH], login_failed logged, auth_failed; retry",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "auth_failed",
         "reason": lambda v: "Authentication failed" in v},
)
