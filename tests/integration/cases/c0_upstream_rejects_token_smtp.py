"""Postfix (through Dovecot) refuses the cached token once it is revoked:
the device gets 535, the relay drops the token, and the next login fetches
a new one and delivers."""

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device
from harness.steps import smtp_login, smtp_send


def client(ctx):
    smtp_send(ctx, "smtps", msgid=ctx.msgid + "-before")
    ctx.tokens.revoke()
    s, reply = smtp_login(ctx)
    ctx.expect_code(reply, 535, "AUTH while the upstream refuses the token")
    ctx.expect_code(s.docmd("QUIT"), 221, "QUIT after the refusal")
    fields = ctx.relay.wait_session(15, event="end", result="auth_failed")
    ctx.check(fields is not None, "no end line with result=auth_failed")
    ctx.check(ctx.tokens.count == 1, "%d token requests before the next "
              "login, expected 1" % ctx.tokens.count)
    smtp_send(ctx, "smtps")
    ctx.check(ctx.tokens.introspections[-1] == (ctx.tokens.issued()[-1],
                                                 True),
              "the last login did not use the new token")


CASE = Case(
    "upstream refuses a revoked token -> 535, result=auth_failed; the next"
    " login gets a new token (2 requests) and delivers",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=2)],
    devices=[oauth_device("mfp-oauth")],
    delivered=True,
    upstream_connections=3,
)
