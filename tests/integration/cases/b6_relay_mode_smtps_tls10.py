"""relay mode at TLS 1.0: a scanner with no AUTH, on the implicit-TLS
listener pinned to TLS 1.0, reaches the XOAUTH2 upstream as its mailbox."""

from harness.case import Case
from harness.clients import send_message
from harness.fixtures import tokens
from harness.oauth import MAILBOX, oauth_device


def client(ctx):
    s, greeting = ctx.smtp("smtps")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.check(s.sock.version() == "TLSv1", "LAN TLS is %s, not TLSv1"
              % s.sock.version())
    ctx.ehlo(s)
    ctx.check(not s.has_extn("auth"),
              "EHLO offers AUTH to a relay-mode device")
    send_message(s, ctx.msgid, sender=MAILBOX)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


CASE = Case(
    "relay mode over implicit TLS 1.0: no device AUTH, XOAUTH2 upstream "
    "-> delivered",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("scanner-relay", auth="relay")],
    delivered=True,
    upstream_connections=1,
    log={"event": "end", "result": "ok", "messages": "1",
         "lan_tls": "TLSv1", "user": MAILBOX, "device": "scanner-relay"},
)
