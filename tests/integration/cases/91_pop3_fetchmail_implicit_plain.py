"""fetchmail over implicit TLS 1.0 (keep), then in plaintext for a
plaintext_auth device (no keep)."""

from harness.case import Case
from harness.pop3 import check_fetched, fetchmail, session_end
from harness.relay import device


def client(ctx):
    status, messages, _ = fetchmail(
        ctx, "pop3s", ["--ssl", "--sslproto", "TLS1", "--nosslcertck"],
        keep=True)
    ctx.check(status == 0, "fetchmail --ssl exit status %d" % status)
    check_fetched(ctx, messages)
    ctx.check(ctx.mailbox.count() == 3, "fetchmail (keep) deleted messages")
    session_end(ctx, result="ok", lan_tls="TLSv1", messages="3")
    status, messages, _ = fetchmail(ctx, "pop3", ["--sslproto", ""])
    ctx.check(status == 0, "fetchmail plaintext exit status %d" % status)
    check_fetched(ctx, messages[3:])
    ctx.check(ctx.mailbox.count() == 0, "fetchmail (no keep) left %d "
              "messages" % ctx.mailbox.count())
    session_end(ctx, result="ok", lan_tls="none", messages="3")


CASE = Case(
    "fetchmail --ssl TLS1 (keep), then plaintext (plaintext_auth) no keep",
    client,
    protocols=("pop3",),
    devices=[device("collector-1", "127.0.0.1", protocols=["pop3"],
                    plaintext_auth=True)],
    needs=["fetchmail"],
)
