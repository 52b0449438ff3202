"""The upstream presents a certificate for another name: -ERR [SYS/TEMP],
result=upstream_tls_failed, and no credentials went up."""

from harness.case import Case
from harness.pop3 import connect, expect_err, login
from harness.relay import device


def client(ctx):
    p = connect(ctx, "pop3s", tls="implicit")
    expect_err(ctx, lambda: login(ctx, p), "SYS/TEMP", "PASS")
    expect_err(ctx, lambda: login(ctx, p), "SYS/TEMP", "PASS (again)")
    ctx.check(p.quit().startswith(b"+OK"), "QUIT")
    log = open(ctx.mailbox.dovecot.log, errors="replace").read()
    ctx.check("Login: user=" not in log, "the upstream saw a login")


CASE = Case(
    "upstream cert for wrong.example -> -ERR [SYS/TEMP], upstream_tls_failed",
    client,
    protocols=("pop3",),
    upstream="wrongname",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "upstream_tls_failed", "messages": "0",
         "reason": lambda v: "certificate" in v},
)
