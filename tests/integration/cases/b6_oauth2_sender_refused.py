"""oauth2 mode: after a good login, MAIL FROM an address that is not the
mailbox (senders unset) gets 550 5.7.1; the mailbox itself is accepted."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import MAILBOX, oauth_device
from harness.steps import smtp_login


def client(ctx):
    s, reply = smtp_login(ctx)
    ctx.expect_code(reply, 235, "AUTH PLAIN with the device secret")
    code, text = s.docmd("MAIL", "FROM:<ceo@example.test>")
    ctx.check(code == 550 and text.startswith(b"5.7.1"),
              "MAIL FROM a sender not allowed: %d %r" % (code, text))
    ctx.expect_code(s.docmd("RSET"), 250, "RSET")
    ctx.send(s)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


CASE = Case(
    "oauth2 mode: MAIL FROM another address -> 550 5.7.1; from the mailbox"
    " -> delivered",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth")],
    delivered=True,
    upstream_connections=1,
    log={"event": "end", "result": "ok", "messages": "1",
         "device": "mfp-oauth", "user": MAILBOX},
)
