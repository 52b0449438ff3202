"""A plaintext_auth device logs in over plain IMAP; the upstream is TLS."""

from harness.case import Case
from harness.imap import capabilities, connect, expect_ok, logout, \
    mailbox_session
from harness.relay import device


def client(ctx):
    imap = connect(ctx, "imap")
    caps = capabilities(imap)
    ctx.check({"AUTH=PLAIN", "STARTTLS", "SASL-IR", "LITERAL+"} <= caps and
              "LOGINDISABLED" not in caps,
              "capabilities for a plaintext_auth device: %s" % sorted(caps))
    expect_ok(ctx, imap.login(ctx.user, ctx.password), "LOGIN")
    mailbox_session(ctx, imap)
    logout(ctx, imap)


CASE = Case(
    "plaintext IMAP device (plaintext_auth): LOGIN, LIST, FETCH, APPEND",
    client,
    protocols=("imap",),
    devices=[device("ups-1", "127.0.0.1", protocols=("imap",),
                    plaintext_auth=True)],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "ups-1", "lan_tls": "none",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
