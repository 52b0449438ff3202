"""An upstream reached with STARTTLS: CAPABILITY, STARTTLS, then login
over TLS 1.2+ (Dovecot takes logins only over TLS)."""

from harness.case import Case
from harness.imap import connect, expect_ok, logout
from harness.relay import device


def client(ctx):
    imap = connect(ctx, "imaps")
    expect_ok(ctx, imap.login(ctx.user, ctx.password), "LOGIN")
    names = expect_ok(ctx, imap.list(), "LIST")
    ctx.check(any(b"INBOX" in n for n in names), "LIST: %r" % names)
    logout(ctx, imap)


CASE = Case(
    "upstream with STARTTLS (tls = starttls): login over TLS 1.2+, LIST",
    client,
    protocols=("imap",),
    upstream="dovecot-starttls",
    devices=[device("mfp-11", "127.0.0.1", protocols=("imap",))],
    log={"event": "end", "result": "ok", "protocol": "imap",
         "device": "mfp-11", "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
