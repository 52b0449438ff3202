"""fetchmail over STLS pinned to TLS 1.0 fetches and deletes every
message."""

from harness.case import Case
from harness.pop3 import check_fetched, fetchmail
from harness.relay import device


def client(ctx):
    status, messages, out = fetchmail(
        ctx, "pop3", ["--sslproto", "TLS1", "--nosslcertck"])
    ctx.check(status == 0, "fetchmail exit status %d" % status)
    ctx.check("STLS" in out or "TLSv1" in out, "fetchmail did not use STLS")
    check_fetched(ctx, messages)
    ctx.check(ctx.mailbox.count() == 0, "fetchmail (no keep) left %d "
              "messages" % ctx.mailbox.count())


CASE = Case(
    "fetchmail STLS --sslproto TLS1, no keep -> all fetched and deleted",
    client,
    protocols=("pop3",),
    devices=[device("collector-1", "127.0.0.1", protocols=["pop3"])],
    needs=["fetchmail"],
    log={"event": "end", "result": "ok", "messages": "3",
         "lan_tls": "TLSv1", "device": "collector-1"},
)
