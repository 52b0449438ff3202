"""STLS with a client pinned to TLS 1.0; credentials only after TLS."""

from harness.case import Case
from harness.clients import legacy_context
from harness.pop3 import connect, delete_and_quit, expect_err, login, \
    retrieve_all
from harness.relay import device


def client(ctx):
    p = connect(ctx, "pop3")
    caps = p.capa()
    ctx.check("STLS" in caps and "USER" not in caps and "SASL" not in caps,
              "CAPA before TLS must offer STLS and no USER/SASL: %r"
              % sorted(caps))
    expect_err(ctx, lambda: p.user(ctx.user), "AUTH", "USER before STLS")
    p.stls(context=legacy_context())
    ctx.check(p.sock.version() == "TLSv1", "LAN TLS is %s" % p.sock.version())
    caps = p.capa()
    ctx.check("USER" in caps and caps.get("SASL") == ["PLAIN", "LOGIN"] and
              "STLS" not in caps, "CAPA after STLS: %r" % caps)
    ctx.check(login(ctx, p).startswith(b"+OK"), "PASS refused")
    retrieve_all(ctx, p)
    delete_and_quit(ctx, p, [1, 2, 3])


CASE = Case(
    "poplib STLS TLS 1.0 (no plaintext_auth) -> RETR all, DELE all",
    client,
    protocols=("pop3",),
    devices=[device("scanner-1", "127.0.0.1", protocols=["pop3"])],
    log={"event": "end", "result": "ok", "protocol": "pop3",
         "messages": "3", "lan_tls": "TLSv1",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
