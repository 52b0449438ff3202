"""Upstream tls = "starttls": the relay uses STLS on Dovecot's plain port,
which takes no login without TLS."""

import poplib

from harness.case import Case
from harness.pop3 import connect, delete_and_quit, expect_err, login, \
    retrieve_all
from harness.relay import device


def client(ctx):
    direct = poplib.POP3("127.0.0.1", ctx.mailbox.dovecot.pop3_port,
                         timeout=20)
    ctx._open.append(direct)
    direct.user(ctx.user)
    expect_err(ctx, lambda: direct.pass_(ctx.password), None,
               "fixture: Dovecot's plain port without STLS")
    p = connect(ctx, "pop3")
    ctx.check(login(ctx, p).startswith(b"+OK"), "PASS refused")
    retrieve_all(ctx, p)
    delete_and_quit(ctx, p, [2])


CASE = Case(
    "upstream via STLS on a plain port (TLS required there) -> RETR all",
    client,
    protocols=("pop3",),
    upstream="pop3-stls",
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"],
                    plaintext_auth=True)],
    log={"event": "end", "result": "ok", "protocol": "pop3",
         "messages": "3", "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
