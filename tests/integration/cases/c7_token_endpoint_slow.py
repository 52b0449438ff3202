"""The token endpoint takes longer than limits.upstream_timeout to answer:
the device gets 454 4.7.0 after about that long, not a hang, and the
relay logs event=token_failed."""

import time

from harness.case import Case
from harness.fixtures import tokens
from harness.oauth import oauth_device, wait_token_line
from harness.steps import smtp_login

TIMEOUT = 2


def client(ctx):
    ctx.tokens.mode, ctx.tokens.delay = "slow", TIMEOUT + 3
    started = time.monotonic()
    s, reply = smtp_login(ctx)
    took = time.monotonic() - started
    ctx.expect_code(reply, 454, "AUTH while the token endpoint is slow")
    ctx.check(took < TIMEOUT + 2.5, "the 454 took %.1f s with "
              "upstream_timeout = %d" % (took, TIMEOUT))
    line = wait_token_line(ctx, "token_failed")
    ctx.check("time" in line.lower(), "the token_failed line does not say "
              "the request timed out: %s" % line)


def short_timeout(settings):
    settings["limits"]["upstream_timeout"] = TIMEOUT


CASE = Case(
    "token endpoint slower than upstream_timeout -> 454 after ~2 s, "
    "event=token_failed (timeout)",
    client,
    upstream="oauth",
    fixtures=[tokens(token_requests=1)],
    devices=[oauth_device("mfp-oauth")],
    settings=short_timeout,
    delivered=False,
)
