"""Implicit TLS (SMTPS) pinned to TLS 1.0, AUTH LOGIN with the user inline."""

from harness.case import Case
from harness.clients import auth_login
from harness.relay import device


def client(ctx):
    s, greeting = ctx.smtp("smtps")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.check(s.sock.version() == "TLSv1", "LAN TLS is %s" % s.sock.version())
    caps = ctx.ehlo(s)
    ctx.check("auth" in caps, "AUTH not offered on implicit TLS")
    ctx.expect_code(auth_login(s, ctx.user, ctx.password, inline_user=True),
                    235, "AUTH LOGIN <user>")
    ctx.send(s)


CASE = Case(
    "implicit TLS pinned to TLS 1.0 -> delivered",
    client,
    upstream="postfix",
    devices=[device("ups-1", "127.0.0.1")],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1", "device": "ups-1",
         "lan_tls": "TLSv1", "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
