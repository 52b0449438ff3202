"""The exit register, IMAP retrieval and filing: after LIST, SELECT INBOX,
a FETCH of a body and an APPEND, tlsrelayctl report --format json shows
the folder, the FETCH and the APPEND."""

from harness.case import Case
from harness.imap import connect, expect_ok, logout, mailbox_session
from harness.register import wait_row
from harness.relay import device


def client(ctx):
    imap = connect(ctx, "imaps")
    expect_ok(ctx, imap.login(ctx.user, ctx.password), "LOGIN")
    mailbox_session(ctx, imap)
    logout(ctx, imap)
    row = wait_row(ctx, "mfp-1", "imap", lambda r: r["sessions"] == 1,
                   "the IMAP session")
    want = {"folders": "INBOX", "selects": 1, "fetches": 1, "appends": 1,
            "lan_tls_used": "TLSv1", "ok_sessions": 1}
    got = {k: row[k] for k in want}
    ctx.check(got == want, "register %r, expected %r" % (got, want))


CASE = Case(
    "register: IMAP SELECT INBOX, FETCH with a body, APPEND recorded",
    client,
    protocols=("imap",),
    devices=[device("mfp-1", "127.0.0.1", protocols=("imap",))],
)
