"""relay mode when tokens fail: a token the upstream refuses is dropped
(the next session gets a new one and delivers), and once the token
endpoint is down MAIL FROM gets a temporary error."""

from harness.case import Case
from harness.clients import send_message
from harness.fixtures import tokens
from harness.oauth import oauth_device, wait_token_line


def relay_send(ctx, msgid):
    """A relay-mode session: EHLO, MAIL/RCPT/DATA, QUIT."""
    s, greeting = ctx.smtp("smtp")
    ctx.expect_code(greeting, 220, "greeting")
    ctx.ehlo(s)
    send_message(s, msgid)
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT")


def refused_mail(ctx, codes, what):
    """MAIL FROM the mailbox must get a reply in codes; returns it."""
    s, greeting = ctx.smtp("smtp")
    ctx.ehlo(s)
    code, text = s.docmd("MAIL", "FROM:<scanner@example.test>")
    ctx.check(code in codes, "%s: MAIL FROM got %d %r" % (what, code, text))
    s.docmd("QUIT")
    return code, text


def four_or_five(n):
    """4 (two deliveries, two refused tokens), 5 if the relay also
    dialled the upstream while the token endpoint was down"""
    return n in (4, 5)


def client(ctx):
    relay_send(ctx, ctx.msgid + "-1")
    ctx.tokens.revoke()
    refused_mail(ctx, range(400, 600), "token revoked upstream")
    relay_send(ctx, ctx.msgid)
    ctx.check(ctx.tokens.count == 2, "%d token requests, expected 2"
              % ctx.tokens.count)
    ctx.tokens.revoke()
    ctx.tokens.down()
    refused_mail(ctx, range(400, 600), "token revoked again")
    refused_mail(ctx, range(400, 500), "token endpoint down")
    wait_token_line(ctx, "token_failed")
    ctx.check(ctx.postfix.wait_message(ctx.msgid + "-1", 20),
              "first message not delivered")


CASE = Case(
    "relay mode: refused token dropped (next session gets a new one), "
    "token endpoint down -> 4xx at MAIL FROM",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=2)],
    devices=[oauth_device("ups-relay", auth="relay")],
    delivered=True,
    upstream_connections=four_or_five,
)
