"""relay mode: an envelope sender that is not the mailbox (senders
unset) gets 550 5.7.1 at MAIL FROM; nothing goes upstream."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device


def client(ctx):
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    code, text = s.docmd("MAIL", "FROM:<intruder@example.test>")
    ctx.check(code == 550 and text.startswith(b"5.7.1"),
              "MAIL FROM a sender not allowed: %d %r" % (code, text))
    code, text = s.docmd("RCPT", "TO:<inbox@example.test>")
    ctx.check(code >= 500, "RCPT after a refused MAIL: %d %r"
              % (code, text))
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


CASE = Case(
    "relay mode: MAIL FROM a sender not in senders -> 550 5.7.1, no token "
    "request, no upstream connection",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=0)],
    devices=[oauth_device("ups-relay", auth="relay")],
    delivered=False,
    upstream_connections=0,
    log={"event": "end", "messages": "0", "device": "ups-relay",
         "protocol": "smtp"},
)
