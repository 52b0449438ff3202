"""relay mode: the device sends without AUTH (plaintext, as a UPS card
does); at MAIL FROM the relay logs in to Postfix with XOAUTH2 as the
device's mailbox. Any sender in senders is allowed."""

from harness.case import Case
from harness.clients import send_message
from harness.fixtures import tokens
from harness.oauth import MAILBOX, oauth_device

SENDER = "ups-alerts@example.test"


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    send_message(s, ctx.msgid, sender=SENDER)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    path = ctx.postfix.wait_message(ctx.msgid, 20)
    ctx.check(path, "message not delivered")
    with open(path, "rb") as f:
        head = f.read().split(b"\n\n", 1)[0]
    ctx.check(b"Return-Path: <%s>" % SENDER.encode() in head,
              "envelope sender not kept: %r" % head[:200])
    second = ctx.msgid + "-2"
    s, greeting = ctx.smtp("smtp")
    ctx.ehlo(s)
    send_message(s, second, sender=MAILBOX)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")
    ctx.check(ctx.postfix.wait_message(second, 20),
              "second message (sender = mailbox) not delivered")


CASE = Case(
    "relay mode: no device AUTH, XOAUTH2 upstream as the mailbox at MAIL "
    "FROM, senders list honoured -> delivered",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("ups-relay", auth="relay",
                          senders=[SENDER, MAILBOX])],
    delivered=True,
    upstream_connections=2,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "ups-relay", "protocol": "smtp", "user": MAILBOX,
         "lan_tls": "none", "upstream_tls": {"TLSv1.2", "TLSv1.3"}},
)
