"""A token with expires_in = 603 is used while more than 600 s are left,
then refreshed: the next login gets a new token (and uses it)."""

import time

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device
from harness.steps import smtp_send

EXPIRES_IN = 603


def used_token(ctx):
    """The token Dovecot was last asked about (what the relay sent)."""
    return ctx.tokens.introspections[-1][0]


def client(ctx):
    smtp_send(ctx, "smtps")
    first = ctx.tokens.token_requests()[0]
    smtp_send(ctx, "smtps", msgid=ctx.msgid + "-2")
    ctx.check(ctx.tokens.count == 1, "second login %.1f s after the token "
              "came: %d token requests, expected 1"
              % (time.monotonic() - first.when, ctx.tokens.count))
    wait = first.when + EXPIRES_IN - 600 + 1.5 - time.monotonic()
    time.sleep(max(wait, 0))
    smtp_send(ctx, "smtps", msgid=ctx.msgid + "-3")
    ctx.check(ctx.tokens.count == 2, "login after the refresh margin: %d "
              "token requests, expected 2" % ctx.tokens.count)
    issued = ctx.tokens.issued()
    ctx.check(used_token(ctx) == issued[1], "the relay used the old token "
              "after refreshing")
    for n in (2, 3):
        ctx.check(ctx.postfix.wait_message("%s-%d" % (ctx.msgid, n), 20),
                  "message %d not delivered" % n)


CASE = Case(
    "token cache: expires_in 603 -> reused within the first 3 s, refreshed "
    "600 s before expiry",
    client,
    upstream="oauth",
    fixtures=[tokens(expires_in=EXPIRES_IN, token_requests=2)],
    devices=[oauth_device("mfp-oauth")],
    delivered=True,
    upstream_connections=3,
)
