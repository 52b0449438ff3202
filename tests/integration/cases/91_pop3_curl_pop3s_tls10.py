"""curl pop3s:// pinned to TLS 1.0: list, retrieve each message, delete."""

from harness.case import Case
from harness.pop3 import CURL_TLS10, check_message, curl
from harness.relay import device


def client(ctx):
    base = "pop3s://127.0.0.1:%d/" % ctx.port("pop3s")
    status, listing = curl(ctx, base, *CURL_TLS10)
    ctx.check(status == 0, "curl LIST failed")
    ctx.check(len(listing.splitlines()) == 3, "LIST: %r" % listing)
    for n in (1, 2, 3):
        status, data = curl(ctx, base + str(n), *CURL_TLS10)
        ctx.check(status == 0, "curl RETR %d failed" % n)
        check_message(ctx, n - 1, data)
    status, _ = curl(ctx, base + "2", "-X", "DELE", "-I", *CURL_TLS10)
    ctx.check(status == 0, "curl DELE 2 failed")
    ctx.check(ctx.mailbox.count() == 2, "DELE 2 did not delete")
    lines = ctx.relay.wait_sessions(5, event="end", protocol="pop3")
    ctx.check([l.get("messages") for l in lines] == ["0", "1", "1", "1", "0"],
              "messages= per session: %r" % [l.get("messages")
                                             for l in lines])


CASE = Case(
    "curl pop3s:// TLS 1.0 -> LIST, RETR 1..3, DELE 2",
    client,
    protocols=("pop3",),
    devices=[device("copier-1", "127.0.0.1", protocols=["pop3"])],
    needs=["curl"],
    log={"event": "end", "result": "ok", "lan_tls": "TLSv1",
         "device": "copier-1"},
)
