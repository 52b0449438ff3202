"""IMAPS with TLS 1.0: LIST, SELECT, FETCH, APPEND through to Dovecot."""

from harness.case import Case
from harness.imap import capabilities, connect, expect_ok, logout, \
    mailbox_session
from harness.relay import device


def client(ctx):
    imap = connect(ctx, "imaps")
    ctx.check(imap.sock.version() == "TLSv1",
              "LAN TLS is %s, not TLSv1" % imap.sock.version())
    caps = capabilities(imap)
    ctx.check({"IMAP4REV1", "AUTH=PLAIN", "SASL-IR"} <= caps and
              "STARTTLS" not in caps and "LOGINDISABLED" not in caps,
              "capabilities over implicit TLS: %s" % sorted(caps))
    expect_ok(ctx, imap.login(ctx.user, ctx.password), "LOGIN")
    mailbox_session(ctx, imap)
    logout(ctx, imap)


CASE = Case(
    "IMAPS TLS 1.0 client: LIST, SELECT, FETCH, APPEND via TLS 1.2+ upstream",
    client,
    protocols=("imap",),
    devices=[device("mfp-1", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "mfp-1", "lan_tls": "TLSv1", "user": "scanner@example.test",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
