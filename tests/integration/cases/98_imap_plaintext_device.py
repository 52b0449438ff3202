"""A plaintext_auth device logs in over plain IMAP; the upstream is TLS."""

from harness.imap import capabilities, connect, expect_ok, imap_case, \
    logout, mailbox_session
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


CASE = imap_case(
    "plaintext IMAP device (plaintext_auth): LOGIN, LIST, FETCH, APPEND",
    client,
    devices=[device("ups-1", "127.0.0.1", protocols=("imap",),
                    plaintext_auth=True)],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "ups-1", "lan_tls": "none",
         "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
