"""STARTTLS forced to TLS 1.0, then classic AUTH LOGIN (334 prompts)."""

from harness.case import Case
from harness.clients import auth_login
from harness.relay import device


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    caps = ctx.ehlo(s)
    ctx.check("starttls" in caps, "STARTTLS not offered: %s" % sorted(caps))
    ctx.check("auth" not in caps, "AUTH offered before STARTTLS")
    caps = ctx.starttls(s)
    ctx.check("auth" in caps, "AUTH not offered after STARTTLS")
    ctx.check("starttls" not in caps, "STARTTLS offered again after TLS")
    ctx.expect_code(auth_login(s, ctx.user, ctx.password), 235, "AUTH LOGIN")
    ctx.send(s)


CASE = Case(
    "STARTTLS pinned to TLS 1.0 + AUTH LOGIN -> delivered over TLS 1.2+",
    client,
    upstream="postfix",
    devices=[device("copier-1", "127.0.0.1")],
    delivered=True,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "copier-1", "lan_tls": "TLSv1",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
